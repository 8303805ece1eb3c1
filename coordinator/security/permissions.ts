/**
 * The role each ControlService RPC needs: `viewer` reads, `deployer` deploys, stops,
 * approves and rolls back, `admin` does everything else (applications, groups, configs, tokens).
 * An RPC missing here is open to no one (the interceptor refuses it), and test/unit/tokens.test.ts
 * fails until every RPC of control.proto is classified.
 */
import type { OperatorRole } from './tokens.js';

export const REQUIRED_ROLE = {
  ListApplications: 'viewer',
  ListDeploymentConfigs: 'viewer',
  ListDeploymentGroups: 'viewer',
  GetDeploymentGroup: 'viewer',
  ListRevisions: 'viewer',
  GetDeployment: 'viewer',
  ListDeployments: 'viewer',
  WatchDeployment: 'viewer',
  StreamLogs: 'viewer',
  ListHosts: 'viewer',
  GetHost: 'viewer',
  StreamEvents: 'viewer',
  GetDeploymentPlan: 'viewer',
  ListSchedules: 'viewer',

  UploadRevision: 'deployer',
  CreateDeployment: 'deployer',
  PromoteDeployment: 'deployer',
  CreateSchedule: 'deployer',
  CancelSchedule: 'deployer',
  PlanDeployment: 'deployer',
  StopDeployment: 'deployer',
  RollbackDeployment: 'deployer',
  RedeployDeployment: 'deployer',
  RetryDeployment: 'deployer',
  PauseDeployment: 'deployer',
  ResumeDeployment: 'deployer',
  ApproveDeployment: 'deployer',
  RejectDeployment: 'deployer',
  DeleteRevisions: 'deployer',

  CreateApplication: 'admin',
  CreateDeploymentConfig: 'admin',
  CreateDeploymentGroup: 'admin',
  UpdateDeploymentGroup: 'admin',
  SetTrigger: 'admin',
  RemoveTrigger: 'admin',
  CreateToken: 'admin',
  ListTokens: 'admin',
  RevokeToken: 'admin',
  RevokeHost: 'admin',
  UpgradeHosts: 'admin',
  SetHostTags: 'admin',
  RemoveHost: 'admin',
  DeleteApplication: 'admin',
  DeleteDeploymentGroup: 'admin',
  StreamAudit: 'admin',
} as const satisfies Record<string, OperatorRole>;

export function requiredRole(method: string): OperatorRole | undefined {
  return (REQUIRED_ROLE as Record<string, OperatorRole>)[method];
}

/** Calls above `viewer` that only read (tokens, the audit log): not audited unless refused. Every other call above `viewer` changes something and is audited. */
export const ADMIN_READS: ReadonlySet<string> = new Set(['ListTokens', 'StreamAudit'] satisfies (keyof typeof REQUIRED_ROLE)[]);
