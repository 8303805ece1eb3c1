import type { Deployment__Output } from '../proto/gen/ferry/v1/Deployment.js';
import type { DeploymentDetail__Output } from '../proto/gen/ferry/v1/DeploymentDetail.js';
import type { HostDeployment__Output } from '../proto/gen/ferry/v1/HostDeployment.js';
import type { LifecycleEvent__Output } from '../proto/gen/ferry/v1/LifecycleEvent.js';
import type { LogEntry__Output } from '../proto/gen/ferry/v1/LogEntry.js';
import { NONE, elapsedMs, formatDuration, formatTime, keyValues, orNone, shortDigest, table , type Zone, UTC } from './format.js';
import { COLORS, type Paint } from './output.js';
import { countsText, hostName, summarize } from './progress.js';

/** Pure renderings of deployments for `ferry deploy status|list|logs`. */

const STATUS_COLOR: Record<string, string> = {
  Succeeded: COLORS.green,
  Failed: COLORS.red,
  Unknown: COLORS.red,
  Stopped: COLORS.yellow,
  InProgress: COLORS.cyan,
  Skipped: COLORS.dim,
};

export function colorStatus(status: string, c: Paint): string {
  return c(STATUS_COLOR[status] ?? '', status || NONE);
}

function errorText(code: string, message: string): string {
  return [code, message].filter(Boolean).join(': ');
}

/** An event's duration: the reported one, or from its timestamps. */
function eventDuration(e: LifecycleEvent__Output, now: number): string {
  if (e.durationMs > 0) return formatDuration(e.durationMs);
  if (!e.startedAt) return NONE;
  return formatDuration(elapsedMs(e.startedAt, e.endedAt || undefined, now));
}

export function eventRows(events: readonly LifecycleEvent__Output[], now: number, c: Paint): string[][] {
  return events.map(e => [
    e.name,
    colorStatus(e.status, c),
    eventDuration(e, now),
    orNone(e.errorCode),
    e.status === 'Failed' && e.exitCode !== 0 ? String(e.exitCode) : NONE,
    e.message.split('\n')[0] ?? '',
  ]);
}

function hostLines(h: HostDeployment__Output, now: number, c: Paint): string[] {
  const took = formatDuration(elapsedMs(h.startedAt, h.completedAt || undefined, now));
  const current = h.status === 'InProgress' && h.currentEvent ? ` in ${h.currentEvent}` : '';
  const lines = [`${c(COLORS.bold, hostName(h))}${h.zone ? ` zone ${h.zone}` : ''}  ${colorStatus(h.status, c)}${current}  ${took}`];
  const err = errorText(h.errorCode, h.errorMessage);
  if (err) lines.push(`  error: ${err}`);
  if (h.events.length > 0) {
    lines.push(...table(['EVENT', 'STATUS', 'DURATION', 'ERROR', 'EXIT', 'MESSAGE'], eventRows(h.events, now, c), '  '));
  }
  return lines;
}

/** `ferry deploy status ID`: the deployment, its error, then every host and event. */
export function deploymentLines(detail: DeploymentDetail__Output, now: number, c: Paint, zone: Zone = UTC): string[] {
  const d = detail.deployment;
  if (!d) return ['the coordinator sent no deployment'];
  const options = [
    `file exists: ${orNone(d.fileExistsBehavior)}`,
    `ignore ApplicationStop failures: ${d.ignoreApplicationStopFailures ? 'yes' : 'no'}`,
  ].join('; ');
  const lines = keyValues([
    ['Deployment', d.id],
    ['Group', `${d.application}/${d.groupName}${d.groupId ? ` (${d.groupId})` : ''}`],
    ['Revision', orNone(d.revision)],
    ['Config', `${orNone(d.configName)}${d.minHealthyHosts > 0 ? ` (minimum healthy hosts: ${d.minHealthyHosts})` : ''}`],
    ['Status', colorStatus(d.status, c)],
    ['Creator', `${orNone(d.creator)}${d.createdBy ? ` (${d.createdBy})` : ''}`],
    ['Description', orNone(d.description)],
    ['Options', options],
    ...(d.pauseReason ? [['Paused', d.pauseReason] as [string, string]] : []),
    ...(d.waitReason && !d.pauseReason ? [['Waiting', d.waitReason] as [string, string]] : []),
    ...(d.scheduleId ? [['Schedule', d.scheduleId] as [string, string]] : []),
    ...(d.ignoreWindow ? [['Windows', 'ignored (--ignore-window)'] as [string, string]] : []),
    ...(d.rollbackOf ? [['Rollback of', d.rollbackOf] as [string, string]] : []),
    ...(d.rolledBackBy ? [['Rolled back by', `${d.rolledBackBy}  (ferry deploy status ${d.rolledBackBy})`] as [string, string]] : []),
    ['Created', formatTime(d.createdAt, zone)],
    ['Started', formatTime(d.startedAt, zone)],
    ['Completed', formatTime(d.completedAt, zone)],
    ['Duration', formatDuration(elapsedMs(d.startedAt, d.completedAt || undefined, now))],
  ]);
  const err = errorText(d.errorCode, d.errorMessage);
  if (err) lines.push(c(COLORS.red, `Error: ${err}`));
  lines.push('', `Hosts: ${detail.hosts.length} (${countsText(summarize(detail), c)})`);
  for (const h of detail.hosts) lines.push('', ...hostLines(h, now, c));
  return lines;
}

/** `ferry deploy list`. */
export function deploymentTable(deployments: readonly Deployment__Output[], now: number, c: Paint, zone: Zone = UTC): string[] {
  const rows = deployments.map(d => [
    d.id,
    d.application,
    d.groupName,
    shortDigest(d.revision),
    colorStatus(d.status, c) + (d.nextWindowAt ? ` (window opens ${formatTime(d.nextWindowAt, zone)})` : ''),
    orNone(d.creator),
    formatTime(d.createdAt, zone),
    formatDuration(elapsedMs(d.startedAt, d.completedAt || undefined, now)),
  ]);
  return table(['ID', 'APP', 'GROUP', 'REVISION', 'STATUS', 'CREATOR', 'CREATED', 'DURATION'], rows);
}

/**
 * A host's history (`ferry hosts show H`, `ferry deploy list --host H`), newest first: each
 * deployment that targeted it, with what happened on that host (its own status and error, which may
 * differ from the deployment's) and when.
 */
export function hostHistoryTable(
  deployments: readonly Deployment__Output[], results: readonly HostDeployment__Output[], c: Paint, indent = '', zone: Zone = UTC,
): string[] {
  const rows = deployments.map((d, i) => {
    const h = results[i];
    const err = h ? errorText(h.errorCode, h.errorMessage).split('\n')[0] ?? '' : '';
    return [
      d.id,
      `${d.application}/${d.groupName}`,
      shortDigest(d.revision),
      h ? colorStatus(h.status, c) : NONE,
      colorStatus(d.status, c),
      orNone(err),
      formatTime(h?.completedAt || h?.startedAt || d.createdAt, zone),
    ];
  });
  return table(['DEPLOYMENT', 'GROUP', 'REVISION', 'ON HOST', 'DEPLOYMENT STATUS', 'ERROR', 'WHEN'], rows, indent);
}

/** The longest lifecycle event name (BeforeBlockTraffic), so log columns line up. */
const EVENT_WIDTH = 18;

/** `host  event  [stream] line`. */
export function logLine(e: LogEntry__Output, host: string, hostWidth: number, c: Paint): string {
  const stream = e.stream === 'stderr' ? c(COLORS.yellow, '[stderr]') : c(COLORS.dim, `[${e.stream || 'stdout'}]`);
  return `${host.padEnd(hostWidth)}  ${e.event.padEnd(EVENT_WIDTH)}  ${stream} ${e.line}`;
}
