/**
 * The lifecycle phase table (docs/design/style.md §6): order, and which revision each phase's scripts come from.
 * CodeDeploy's in-place order; `previous` phases run the scripts of the group's last installed
 * revision and are skipped on a first install; `agent` phases run no scripts.
 */
export const LIFECYCLE_EVENTS = [
  'BeforeBlockTraffic',
  'AfterBlockTraffic',
  'ApplicationStop',
  'DownloadBundle',
  'BeforeInstall',
  'Install',
  'AfterInstall',
  'ApplicationStart',
  'ValidateService',
  'BeforeAllowTraffic',
  'AfterAllowTraffic',
] as const;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

export type ScriptSource = 'previous' | 'current' | 'agent';

export const PHASE_SOURCE: Readonly<Record<LifecycleEvent, ScriptSource>> = {
  BeforeBlockTraffic: 'previous',
  AfterBlockTraffic: 'previous',
  ApplicationStop: 'previous',
  DownloadBundle: 'agent',
  BeforeInstall: 'current',
  Install: 'agent',
  AfterInstall: 'current',
  ApplicationStart: 'current',
  ValidateService: 'current',
  BeforeAllowTraffic: 'current',
  AfterAllowTraffic: 'current',
};

/** Events an appspec may attach scripts to. */
export const SCRIPTABLE_EVENTS: readonly LifecycleEvent[] = LIFECYCLE_EVENTS.filter(
  e => PHASE_SOURCE[e] !== 'agent',
);

/** Events the agent always runs, whatever subset was asked for. */
export const MANDATORY_EVENTS: readonly LifecycleEvent[] = ['DownloadBundle', 'Install'];

export function isLifecycleEvent(name: string): name is LifecycleEvent {
  return (LIFECYCLE_EVENTS as readonly string[]).includes(name);
}

/** Error codes a lifecycle event can end with (CodeDeploy's, plus Ferry's install/bundle codes). */
export const EVENT_ERROR_CODES = [
  'ScriptMissing',
  'ScriptNotExecutable',
  'ScriptTimedOut',
  'ScriptFailed',
  'OutputsLeftOpen',
  'FailedAfterRestart',
  'UnknownError',
] as const;
export type EventErrorCode = (typeof EVENT_ERROR_CODES)[number];

export const EVENT_STATUSES = ['Pending', 'InProgress', 'Succeeded', 'Failed', 'Skipped'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];
