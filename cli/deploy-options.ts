import type { Command } from 'commander';
import { FerryError } from '../common/errors.js';
import type { CreateDeploymentRequest } from '../proto/gen/ferry/v1/CreateDeploymentRequest.js';
import { parseDuration, parseFileExistsBehavior } from './args.js';

/**
 * The deployment options `deploy create` and `promote` share: one set of flags, one flag → request
 * conversion (CreateDeploymentRequest and PromoteDeploymentRequest name these fields alike).
 */
export type DeploymentOptionFields = Pick<CreateDeploymentRequest,
  'configName' | 'description' | 'fileExistsBehavior' | 'ignoreApplicationStopFailures' | 'autoRollback' | 'overrideAutoRollback'
  | 'approveAfter' | 'hasApproveAfter' | 'ignoreAlarms' | 'minHealthyTimeMs' | 'approveAfterZones' | 'requireAllHosts'>;

export const WAIT_HELP = 'follow the deployment until it ends; exit 0 Succeeded, 1 Failed, 3 Stopped, 4 rolled back, 5 timed out, 6 coordinator unreachable';

/** Adds the deployment option flags, then --wait and --timeout. */
export function withDeploymentOptions(cmd: Command): Command {
  return cmd
    .option('--config <config>', 'a deployment config for this deployment only (the group\'s when not given)')
    .option('--description <text>', 'a note stored with the deployment')
    .option('--file-exists-behavior <behavior>', 'files the group did not install: DISALLOW (default), OVERWRITE or RETAIN')
    .option('--ignore-application-stop-failures', 'go on when the installed revision\'s ApplicationStop scripts fail')
    .option('--auto-rollback <events>', 'this deployment only: failure,alarm,stop or none (the group\'s policy when not given)')
    .option('--approve-after <n|first-zone>', 'pause once N hosts have succeeded (on N or fewer hosts: once all finished, before the verdict; with a zonal config and first-zone: once the first zone finished and was monitored), until ferry deploy approve (or reject)')
    .option('--min-healthy-time <duration>', 'bake time: a host counts as done this long after it succeeded, its alarms watched (default 0)')
    .option('--ignore-alarms', 'emergencies: the group\'s health alarms do not stop this deployment')
    .option('--require-all-hosts', 'fail (HOSTS_OFFLINE) when a target\'s agent is offline at its turn, instead of skipping it (AGENT_OFFLINE) and going on')
    .option('--wait', WAIT_HELP)
    .option('--timeout <duration>', 'with --wait: give up after this long (e.g. 90s, 30m, 1h); exit 5, the deployment goes on');
}

/** Flags → the shared request fields; each bad value is a usage error naming its flag. */
export function deploymentOptions(opts: Record<string, unknown>): DeploymentOptionFields {
  return {
    configName: (opts.config as string | undefined) ?? '',
    description: (opts.description as string | undefined) ?? '',
    fileExistsBehavior: opts.fileExistsBehavior === undefined ? '' : parseFileExistsBehavior(String(opts.fileExistsBehavior)),
    ignoreApplicationStopFailures: opts.ignoreApplicationStopFailures === true,
    ...(opts.autoRollback !== undefined && { autoRollback: parseAutoRollbackFlag(String(opts.autoRollback)), overrideAutoRollback: true }),
    ...(opts.approveAfter !== undefined && parseApproveAfter(String(opts.approveAfter))),
    ...(opts.ignoreAlarms === true && { ignoreAlarms: true }),
    ...(opts.requireAllHosts === true && { requireAllHosts: true }),
    ...(opts.minHealthyTime !== undefined && { minHealthyTimeMs: parseDuration(String(opts.minHealthyTime), '--min-healthy-time') }),
  };
}

export const FOLLOW_ROLLBACK_HELP = 'with --wait: when the deployment is rolled back, follow the rollback to its end too; exit 4 once it succeeded, 1 if it failed as well';

/** `--wait`, `--timeout` and `--follow-rollback` (the last two only with --wait). */
export function waitOptions(opts: Record<string, unknown>): { wait: boolean; timeoutMs?: number; followRollback?: boolean } {
  const wait = opts.wait === true;
  if (opts.followRollback === true && !wait) throw new FerryError('INVALID_ARGUMENT', '--follow-rollback: only with --wait');
  if (opts.followRollback === true) return { ...waitOptions({ ...opts, followRollback: undefined }), followRollback: true };
  if (opts.timeout === undefined) return { wait };
  if (!wait) throw new FerryError('INVALID_ARGUMENT', '--timeout: only with --wait');
  return { wait, timeoutMs: parseDuration(String(opts.timeout), '--timeout') };
}

/** `failure,alarm,stop` or `none`, checked here so a typo is a usage error (exit 2). */
export function parseAutoRollbackFlag(raw: string, flag = '--auto-rollback'): string[] {
  const list = raw.split(',').map(v => v.trim().toLowerCase()).filter(Boolean);
  if (list.length === 1 && list[0] === 'none') return [];
  const bad = list.filter(v => !['failure', 'alarm', 'stop'].includes(v));
  if (list.length === 0 || bad.length > 0) {
    throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' must be a comma-separated list of failure, alarm, stop — or none`);
  }
  return list;
}

/** `--approve-after N` (hosts) or `first-zone` (zonal configs: after the first zone and its monitor time). */
export function parseApproveAfter(raw: string): Pick<CreateDeploymentRequest, 'approveAfter' | 'hasApproveAfter' | 'approveAfterZones'> {
  const text = raw.trim();
  if (text === 'first-zone') return { approveAfterZones: 1 };
  if (!/^\d+$/.test(text)) throw new FerryError('INVALID_ARGUMENT', `--approve-after: '${raw}' must be a number of hosts or first-zone`);
  return { approveAfter: Number(text), hasApproveAfter: true };
}
