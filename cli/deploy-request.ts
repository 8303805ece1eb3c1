import os from 'node:os';
import { FerryError } from '../common/errors.js';
import type { CreateDeploymentRequest } from '../proto/gen/ferry/v1/CreateDeploymentRequest.js';
import { parseRevisionRef, requireText } from './args.js';
import { deploymentOptions, waitOptions } from './deploy-options.js';

/** The flags of `deploy create`, `deploy plan` and `schedule create` → the deployment request they describe. */

/** Flags → CreateDeploymentRequest and the wait timeout; every flag checked before any call. */
export function createRequest(opts: Record<string, unknown>): { request: CreateDeploymentRequest; wait: boolean; timeoutMs?: number } {
  const request: CreateDeploymentRequest = opts.fromPlan !== undefined ? fromPlanRequest(opts) : deploymentRequest(opts);
  return { request, ...waitOptions(opts) };
}

/** The flags of `deploy create` and `deploy plan` → the deployment they describe. */
export function deploymentRequest(opts: Record<string, unknown>, alternative = 'or execute a plan: --from-plan ID'): CreateDeploymentRequest {
  const missing = (['app', 'group', 'revision'] as const).filter(k => opts[k] === undefined).map(k => `--${k}`);
  if (missing.length > 0) throw new FerryError('INVALID_ARGUMENT', `${missing.join(', ')} required (${alternative})`);
  return {
    application: requireText(opts.app as string, '--app'),
    group: requireText(opts.group as string, '--group'),
    revision: parseRevisionRef(String(opts.revision)),
    ...deploymentOptions(opts),
    ...(opts.ignoreWindow === true && { ignoreWindow: true }),
  };
}

/** `deploy create --from-plan ID`: the plan fixes everything else. */
export function fromPlanRequest(opts: Record<string, unknown>): CreateDeploymentRequest {
  const bad = conflicting(opts);
  if (bad.length > 0) {
    throw new FerryError('INVALID_ARGUMENT', `--from-plan: the plan fixes the revision, group, config and options; drop ${bad.join(', ')}`);
  }
  return { planId: requireText(opts.fromPlan as string, '--from-plan') };
}

/** The flags that shape a deployment: given with --from-plan (or --show), they are a usage error. */
const SHAPING_FLAGS: readonly (readonly [string, string])[] = [
  ['app', '--app'], ['group', '--group'], ['revision', '--revision'], ['config', '--config'], ['description', '--description'],
  ['fileExistsBehavior', '--file-exists-behavior'], ['ignoreApplicationStopFailures', '--ignore-application-stop-failures'],
  ['autoRollback', '--auto-rollback'], ['approveAfter', '--approve-after'], ['minHealthyTime', '--min-healthy-time'],
  ['ignoreAlarms', '--ignore-alarms'], ['requireAllHosts', '--require-all-hosts'],
];

export function conflicting(opts: Record<string, unknown>): string[] {
  return SHAPING_FLAGS.filter(([key]) => opts[key] !== undefined).map(([, flag]) => flag);
}

/** Who is asking, recorded with a stop: user@hostname (no authentication yet). */
export function requester(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry for this uid
  }
  return `${user}@${os.hostname()}`;
}
