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

/**
 * A lifecycle event, or a custom event: a hook name that is not a lifecycle event, run when
 * `ferry-agent local --events` names it (codedeploy-local's `--events`, deployer.rb hook_mapping).
 * Custom events run the current revision's scripts.
 */
export type EventName = LifecycleEvent | (string & {});

/** Where a custom event goes when it follows no lifecycle event in `--events`: codedeploy-local puts DownloadBundle and Install first. */
const CUSTOM_EVENT_DEFAULT_ANCHOR: LifecycleEvent = 'Install';

/**
 * The events of a run, in the order they run: the lifecycle order, with each custom event of
 * `requested` right after the lifecycle event it follows there (after Install when it follows
 * none), custom events after the same event in their given order. Pure.
 */
export function orderEvents(requested: readonly string[] = []): EventName[] {
  const after = new Map<LifecycleEvent, string[]>();
  let anchor: LifecycleEvent = CUSTOM_EVENT_DEFAULT_ANCHOR;
  const seen = new Set<string>();
  for (const name of requested) {
    if (isLifecycleEvent(name)) {
      anchor = name;
      continue;
    }
    if (seen.has(name)) continue;
    seen.add(name);
    after.set(anchor, [...(after.get(anchor) ?? []), name]);
  }
  return LIFECYCLE_EVENTS.flatMap(e => [e, ...(after.get(e) ?? [])]);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The lifecycle event a custom-looking name is probably a typo of, if any (case, or ≤ 2 edits). */
export function likelyEvent(name: string): LifecycleEvent | undefined {
  return LIFECYCLE_EVENTS.find(e => e.toLowerCase() === name.toLowerCase()) ??
    LIFECYCLE_EVENTS.find(e => editDistance(e.toLowerCase(), name.toLowerCase()) <= 2);
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
