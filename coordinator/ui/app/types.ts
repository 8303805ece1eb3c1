/** The JSON shapes of the ControlService messages the console reads (proto/ferry/v1/control.proto, camelCase). */

export interface LifecycleEvent {
  name: string; status: string; errorCode: string; exitCode: number; message: string; startedAt: string; endedAt: string; durationMs: number;
}
export interface HostDeployment {
  hostId: string; hostname: string; status: string; currentEvent: string; errorCode: string; errorMessage: string;
  startedAt: string; completedAt: string; events: LifecycleEvent[]; zone: string;
}
export interface Deployment {
  id: string; application: string; groupName: string; groupId: string; revision: string; configName: string; status: string;
  creator: string; createdBy: string; description: string; errorCode: string; errorMessage: string; createdAt: string; startedAt: string; completedAt: string;
  rollbackOf: string; rolledBackBy: string; pauseReason: string; awaitingApproval: boolean; waitReason: string; nextWindowAt: string;
  minHealthyHosts: number; approveAfter: number;
}
export interface Overview { pending: number; inProgress: number; succeeded: number; failed: number; skipped: number; unknown: number }
export interface DeploymentDetail { deployment: Deployment; hosts: HostDeployment[]; overview: Overview; offlineHosts: string[] }
export interface LogEntry { seq: number; hostId: string; event: string; stream: string; line: string; at: string }
export interface HostInfo {
  id: string; hostname: string; tags: Record<string, string>; zone: string; agentVersion: string; connected: boolean; lastSeenAt: string; registeredAt: string;
  facts?: { os: string; kernel: string; arch: string; cpus: number; memoryBytes: number; diskTotalBytes: number; diskFreeBytes: number } | null;
  revisions: { groupId: string; groupName: string; application: string; revision: string; lastStatus: string }[];
  state: string;
  /** Health alarms as the agent last reported them. */
  alarms: HostAlarm[];
}
export interface HostAlarm { name: string; state: string; reason: string; since: string }
export interface TagSet { filters: { key: string; value: string; hasKey: boolean; hasValue: boolean }[] }
export interface Group {
  id: string; application: string; name: string; tagSets: TagSet[]; configName: string; createdAt: string; matchingHostIds: string[];
  lastSuccessfulDeploymentId: string; lastSuccessfulRevision: string; autoRollback: string[]; alarms: string[]; rollbackConfig: string;
  windows: { cron: string; durationMs: number; timezone: string }[]; windowOpen: boolean; windowClosesAt: string; nextWindowAt: string;
  triggers: { name: string; url: string; events: string[] }[];
}
export interface FerryEvent {
  seq: number; at: string; kind: string; application: string; groupName: string; groupId: string; deploymentId: string; hostId: string;
  lifecycleEvent: string; status: string; payloadJson: string;
}
export interface AuditRecord {
  seq: number; at: string; actor: string; role: string; action: string; peer: string; outcome: string; code: string; message: string; targetJson: string; count: number;
}
export const TERMINAL = ['Succeeded', 'Failed', 'Stopped'];
