import type { FileExistsBehavior } from '../../common/appspec/types.js';
import type { FingerprintInput } from '../plan-preview/fingerprint.js';
import type { PlanBody } from '../plan-preview/build.js';
import type { AutoRollbackEvent, MinimumHealthy, ZonalConfig } from './types.js';

/** How long a plan can be executed after it was made. */
export const PLAN_TTL_MS = 24 * 60 * 60 * 1000;

/** The deployment options a plan fixes: `--from-plan` creates the deployment with exactly these. */
export interface PlanOptions {
  description: string;
  fileExistsBehavior: FileExistsBehavior;
  ignoreApplicationStopFailures: boolean;
  autoRollback?: AutoRollbackEvent[];
  approveAfter?: number;
  approveAfterZones?: number;
  ignoreAlarms?: boolean;
  minHealthyTimeMs?: number;
  requireAllHosts?: boolean;
}

/** What is stored as a plan's JSON body: the plan itself and what its fingerprint was made of. */
export interface PlanDocument extends PlanBody {
  minimumHealthy: MinimumHealthy;
  zonal?: ZonalConfig;
  /** Deployment windows of the group, when the group has any (filled once groups have windows). */
  windows: string[];
  fingerprintInput: FingerprintInput;
}

/** A stored deployment plan (`ferry deploy plan`), executable once with `ferry deploy create --from-plan`. */
export interface DeploymentPlanRecord {
  /** `p-` and 9 uppercase alphanumerics (IdSource.plan). */
  id: string;
  application: string;
  groupId: string;
  groupName: string;
  revisionDigest: string;
  configName: string;
  options: PlanOptions;
  fingerprint: string;
  document: PlanDocument;
  createdAt: string;
  expiresAt: string;
  /** The deployment that executed this plan. */
  usedBy?: string;
}
