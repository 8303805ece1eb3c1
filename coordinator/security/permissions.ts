/**
 * The role each ControlService RPC needs (issue 6): `viewer` reads, `deployer` deploys, stops,
 * approves and rolls back, `admin` does everything else (applications, groups, configs, tokens).
 * Typed against the generated handlers, so a new RPC does not compile until it is classified here.
 */
import type { ControlServiceHandlers } from '../../proto/gen/ferry/v1/ControlService.js';
import type { OperatorRole } from './tokens.js';

export type ControlMethod = Exclude<keyof ControlServiceHandlers, number | symbol>;

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
  PauseDeployment: 'deployer',
  ResumeDeployment: 'deployer',
  ApproveDeployment: 'deployer',
  RejectDeployment: 'deployer',

  CreateApplication: 'admin',
  CreateDeploymentConfig: 'admin',
  CreateDeploymentGroup: 'admin',
  UpdateDeploymentGroup: 'admin',
  SetTrigger: 'admin',
  RemoveTrigger: 'admin',
} as const satisfies Record<ControlMethod, OperatorRole>;

export function requiredRole(method: string): OperatorRole | undefined {
  return (REQUIRED_ROLE as Record<string, OperatorRole>)[method];
}
