import { parseAutoRollback } from '../services/catalog.js';
import type { CreateDeploymentInput } from '../services/deployments.js';
import type { CreateDeploymentRequest__Output } from '../../proto/gen/ferry/v1/CreateDeploymentRequest.js';

/** The option fields CreateDeploymentRequest and PromoteDeploymentRequest share (same names, same numbers). */
export type DeploymentOptionFields = Pick<CreateDeploymentRequest__Output,
  'configName' | 'description' | 'fileExistsBehavior' | 'ignoreApplicationStopFailures' | 'autoRollback' | 'overrideAutoRollback'
  | 'approveAfter' | 'hasApproveAfter' | 'ignoreAlarms' | 'minHealthyTimeMs' | 'approveAfterZones'>;

export type DeploymentOptions = Omit<CreateDeploymentInput, 'application' | 'group' | 'revision'>;

/** Decodes a request's deployment options into the domain's input (absent fields stay absent). */
export function deploymentOptionsFromProto(req: DeploymentOptionFields & { ignoreWindow?: boolean; requireAllHosts?: boolean }): DeploymentOptions {
  return {
    configName: req.configName,
    description: req.description,
    fileExistsBehavior: req.fileExistsBehavior,
    ignoreApplicationStopFailures: req.ignoreApplicationStopFailures,
    ...(req.overrideAutoRollback && { autoRollback: parseAutoRollback(req.autoRollback) }),
    ...(req.hasApproveAfter && { approveAfter: req.approveAfter }),
    ...(req.approveAfterZones > 0 && { approveAfterZones: req.approveAfterZones }),
    ...(req.ignoreAlarms && { ignoreAlarms: true }),
    ...(req.minHealthyTimeMs > 0 && { minHealthyTimeMs: req.minHealthyTimeMs }),
    ...(req.ignoreWindow && { ignoreWindow: true }),
    ...(req.requireAllHosts && { requireAllHosts: true }),
  };
}
