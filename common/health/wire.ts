import type { AlarmSpec__Output as WireAlarmSpec } from '../../proto/gen/ferry/v1/AlarmSpec.js';
import type { AlarmState } from '../../proto/gen/ferry/v1/AlarmState.js';
import type { SetAlarms__Output as SetAlarms } from '../../proto/gen/ferry/v1/SetAlarms.js';
import type { AlarmStatus } from './evaluate.js';
import type { AlarmKind, AlarmSpec } from './spec.js';

/**
 * Pure translations between agent.proto (SetAlarms, AlarmState) and the health types. Specs are
 * not checked here: the monitor reports an invalid one as INSUFFICIENT_DATA with its problems.
 */
export function alarmsFromWire(m: SetAlarms): { alarms: AlarmSpec[]; intervalMs: number } {
  return { alarms: m.alarms.map(specFromWire), intervalMs: m.intervalMs };
}

export function specFromWire(w: WireAlarmSpec): AlarmSpec {
  const spec: AlarmSpec = { name: w.name, kind: w.kind as AlarmKind, timeoutMs: w.timeoutMs, forMs: w.forMs };
  switch (spec.kind) {
    case 'cpu':
    case 'memory':
      return { ...spec, thresholdPercent: w.thresholdPercent };
    case 'disk':
      return { ...spec, thresholdPercent: w.thresholdPercent, path: w.path };
    case 'http':
      return { ...spec, url: w.url };
    case 'tcp':
      return { ...spec, address: w.address };
    case 'command':
      return { ...spec, argv: [...w.argv] };
    default:
      return spec;
  }
}

export function specToWire(s: AlarmSpec): WireAlarmSpec {
  return {
    name: s.name, kind: s.kind, thresholdPercent: s.thresholdPercent ?? 0, path: s.path ?? '', url: s.url ?? '',
    address: s.address ?? '', argv: [...(s.argv ?? [])], timeoutMs: s.timeoutMs, forMs: s.forMs,
  };
}

export function stateToWire(s: AlarmStatus): AlarmState {
  return { name: s.name, state: s.state, value: s.value, reason: s.reason, since: new Date(s.sinceMs).toISOString() };
}
