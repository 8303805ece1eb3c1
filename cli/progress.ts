import type { DeploymentDetail__Output } from '../proto/gen/ferry/v1/DeploymentDetail.js';
import type { HostDeployment__Output } from '../proto/gen/ferry/v1/HostDeployment.js';
import { elapsedMs, formatDuration, formatTime, stripAnsi, UTC, visibleLength, type Zone } from './format.js';
import { COLORS, type Paint } from './output.js';
import { hostLabel } from '../common/text.js';

/** Progress of a watched deployment, as pure functions of what WatchDeployment sends (docs/design/style.md §1). */

export interface ProgressSummary {
  total: number;
  succeeded: number;
  inFlight: number;
  failed: number;
  pending: number;
  skipped: number;
  unknown: number;
  /** The event each in-flight host is in, in the deployment's host order. */
  inFlightHosts: { host: string; event: string }[];
}

/** The host id with its hostname beside it (`web-1 (ip-10-0-0-5)`): never the hostname alone. */
export function hostName(h: Pick<HostDeployment__Output, 'hostname' | 'hostId'>): string {
  return hostLabel(h.hostId, h.hostname);
}

export function summarize(detail: DeploymentDetail__Output): ProgressSummary {
  const s: ProgressSummary = { total: 0, succeeded: 0, inFlight: 0, failed: 0, pending: 0, skipped: 0, unknown: 0, inFlightHosts: [] };
  if (detail.hosts.length === 0 && detail.overview) {
    const o = detail.overview;
    Object.assign(s, { succeeded: o.succeeded, inFlight: o.inProgress, failed: o.failed, pending: o.pending, skipped: o.skipped, unknown: o.unknown });
    s.total = o.succeeded + o.inProgress + o.failed + o.pending + o.skipped + o.unknown;
    return s;
  }
  for (const h of detail.hosts) {
    s.total++;
    switch (h.status) {
      case 'Succeeded': s.succeeded++; break;
      case 'InProgress':
        s.inFlight++;
        s.inFlightHosts.push({ host: hostName(h), event: h.currentEvent });
        break;
      case 'Failed': s.failed++; break;
      case 'Skipped': s.skipped++; break;
      case 'Unknown': s.unknown++; break;
      default: s.pending++;
    }
  }
  return s;
}

/** `[██████░░░░░░]`: done (succeeded, failed, skipped, unknown) out of all hosts. */
export function progressBar(s: ProgressSummary, width: number, c: Paint): string {
  if (s.total === 0) return `[${'░'.repeat(width)}]`;
  const cells = (n: number) => Math.round((n / s.total) * width);
  const ok = cells(s.succeeded + s.skipped);
  const bad = Math.min(width - ok, cells(s.failed + s.unknown));
  const rest = Math.max(0, width - ok - bad);
  return `[${c(COLORS.green, '█'.repeat(ok))}${c(COLORS.red, '█'.repeat(bad))}${'░'.repeat(rest)}]`;
}

/**
 * `3 succeeded · 2 in flight · 1 failed · 4 pending` (+ skipped and unknown when any);
 * `compact` (the live line) separates with commas and drops the explanation.
 */
export function countsText(s: ProgressSummary, c: Paint, compact = false): string {
  const parts = [
    c(s.succeeded > 0 ? COLORS.green : '', `${s.succeeded} succeeded`),
    `${s.inFlight} in flight`,
    c(s.failed > 0 ? COLORS.red : '', `${s.failed} failed`),
    `${s.pending} pending`,
  ];
  if (s.skipped > 0) parts.push(`${s.skipped} skipped`);
  if (s.unknown > 0) parts.push(c(COLORS.red, `${s.unknown} unknown${compact ? '' : ' (agent lost)'}`));
  return parts.join(compact ? ', ' : ' · ');
}

/** A duration left, whole seconds: `1m20s`, `45s` (never a fraction of a second on a moving line). */
function left(ms: number): string {
  return formatDuration(Math.max(1000, Math.ceil(ms / 1000) * 1000));
}

/**
 * What a deployment that is not moving waits for, for the live line: the approval gate (and the
 * command that opens it), a window (until when it opens), an operator's pause (how to resume), or
 * bake time (the host baking longest, until when, how long is left). Undefined when it waits for
 * nothing (hosts are in flight). Pure.
 */
export function waitingText(detail: DeploymentDetail__Output, now: number, zone: Zone = UTC): string | undefined {
  const d = detail.deployment;
  if (!d) return undefined;
  const opens = d.nextWindowAt ? `opens ${formatTime(d.nextWindowAt, zone)}${Date.parse(d.nextWindowAt) > now ? ` (in ${left(Date.parse(d.nextWindowAt) - now)})` : ''}` : '';
  if (d.status === 'Queued' && (d.nextWindowAt || d.waitReason)) return opens ? `waiting for a deployment window: ${opens}` : d.waitReason;
  if (d.status === 'Paused') {
    if (d.awaitingApproval || d.pauseKind === 'approval') return `awaiting approval: ferry deploy approve ${d.id} (or ferry deploy reject ${d.id} --reason TEXT)`;
    if (d.pauseKind === 'window' || d.waitReason) return opens ? `outside its deployment window: ${opens}` : (d.waitReason || d.pauseReason || 'outside its deployment window');
    return `paused${d.pauseReason ? ` (${d.pauseReason})` : ''}: ferry deploy resume ${d.id}`;
  }
  if (d.status !== 'InProgress' || !d.minHealthyTimeMs) return undefined;
  const baking = detail.hosts
    .filter(h => h.status === 'Succeeded' && h.completedAt && Date.parse(h.completedAt) + d.minHealthyTimeMs > now)
    .map(h => ({ h, until: Date.parse(h.completedAt) + d.minHealthyTimeMs }))
    .sort((a, b) => b.until - a.until);
  const last = baking[0];
  if (!last) return undefined;
  const others = baking.length > 1 ? ` and ${baking.length - 1} more` : '';
  return `baking ${hostName(last.h)}${others}: ${left(last.until - now)} left, until ${formatTime(new Date(last.until).toISOString(), zone)}`;
}

/**
 * The one live line on a TTY. It must never wrap (a wrapped line cannot be redrawn in place):
 * the host list is cut first, then the bar, then the text itself. What the deployment waits for
 * (approval, a window, bake time) comes before the hosts in flight.
 */
export function progressLine(detail: DeploymentDetail__Output, columns: number, c: Paint, now: number, zone: Zone = UTC): string {
  const s = summarize(detail);
  const d = detail.deployment;
  const max = Math.max(4, columns - 1);
  const took = formatDuration(elapsedMs(d?.startedAt || d?.createdAt, d?.completedAt, now));
  // InProgress goes without saying on a moving line; Queued, Paused and the end states do not.
  const status = d?.status && d.status !== 'InProgress' ? ` ${d.status}` : '';
  const core = `${s.succeeded + s.failed + s.skipped + s.unknown}/${s.total}${status} ${took} · ${countsText(s, c, true)}`;
  let head = `${progressBar(s, columns >= 100 ? 20 : 10, c)} ${core}`;
  if (visibleLength(head) > max) head = core;
  if (visibleLength(head) > max) return [...stripAnsi(head)].slice(0, max - 1).join('') + '…';
  const waiting = waitingText(detail, now, zone);
  const tail = [waiting, ...s.inFlightHosts.map(h => `${h.host}: ${h.event || 'starting'}`)].filter(Boolean).join(', ');
  const budget = max - visibleLength(head) - 3;
  if (tail === '' || budget < 8) return head;
  return `${head} (${tail.length > budget ? tail.slice(0, budget - 1) + '…' : tail})`;
}

function failedEvent(h: HostDeployment__Output): string | undefined {
  return h.events.find(e => e.status === 'Failed')?.name || h.currentEvent || undefined;
}

/** `Failed at ValidateService: ScriptFailed: message` for a failed host. */
export function hostOutcome(h: HostDeployment__Output): string {
  if (h.status !== 'Failed' && h.status !== 'Unknown') return h.status;
  const at = failedEvent(h);
  const why = [h.errorCode, h.errorMessage].filter(Boolean).join(': ');
  return `${h.status}${at ? ` at ${at}` : ''}${why ? `: ${why}` : ''}`;
}

/**
 * Plain progress for logs and pipelines: one line per change between two WatchDeployment
 * messages (`host X: event Y`, `host X: Succeeded`, …); nothing when nothing changed.
 */
export function changeLines(prev: DeploymentDetail__Output | undefined, next: DeploymentDetail__Output): string[] {
  const lines: string[] = [];
  const d = next.deployment;
  if (d && (!prev || prev.deployment?.status !== d.status || (d.waitReason && prev.deployment?.waitReason !== d.waitReason))) {
    const why = d.waitReason ? `: ${d.waitReason}` : d.status === 'Paused' && d.pauseReason ? `: ${d.pauseReason}` : '';
    lines.push(`deployment ${d.id}: ${d.status}${prev ? '' : ` (${next.hosts.length} host${next.hosts.length === 1 ? '' : 's'})`}${why}`);
  }
  const before = new Map((prev?.hosts ?? []).map(h => [h.hostId, h]));
  for (const h of next.hosts) {
    const p = before.get(h.hostId);
    const statusChanged = p?.status !== h.status;
    if (h.status === 'InProgress') {
      if (h.currentEvent && (statusChanged || p?.currentEvent !== h.currentEvent)) lines.push(`host ${hostName(h)}: event ${h.currentEvent}`);
      else if (statusChanged && !h.currentEvent) lines.push(`host ${hostName(h)}: InProgress`);
    } else if (statusChanged && (h.status !== 'Pending' || p !== undefined)) {
      lines.push(`host ${hostName(h)}: ${hostOutcome(h)}`);
    }
  }
  return lines;
}

/** The closing lines of `deploy create --wait`. */
export function verdictLines(detail: DeploymentDetail__Output, now: number, c: Paint): string[] {
  const d = detail.deployment;
  if (!d) return ['the coordinator sent no deployment'];
  const s = summarize(detail);
  const took = formatDuration(elapsedMs(d.startedAt || d.createdAt, d.completedAt, now));
  const counts = countsText(s, c);
  const failedHosts = detail.hosts.filter(h => h.status === 'Failed' || h.status === 'Unknown');
  const lines: string[] = [];
  if (d.status === 'Succeeded') {
    lines.push(c(COLORS.green, `Deployment ${d.id} Succeeded in ${took}`) + `: ${counts}`);
    if (failedHosts.length > 0) {
      lines.push(c(COLORS.yellow, `warning: ${failedHosts.length} host(s) failed, but config ${d.configName} lets the deployment succeed:`));
    }
  } else {
    const colour = d.status === 'Failed' ? COLORS.red : COLORS.yellow;
    lines.push(c(colour, `Deployment ${d.id} ${d.status} after ${took}`) + `: ${counts}`);
    if (d.errorCode || d.errorMessage) lines.push(`  ${[d.errorCode, d.errorMessage].filter(Boolean).join(': ')}`);
  }
  for (const h of failedHosts) lines.push(`  ${hostName(h)}: ${hostOutcome(h)}`);
  const offline = detail.hosts.filter(h => detail.offlineHosts.includes(h.hostId));
  if (offline.length > 0) {
    lines.push(c(COLORS.yellow, `warning: ${offline.length} target host(s) were offline and did not get this revision (AGENT_OFFLINE): ${offline.map(hostName).join(', ')}`));
    lines.push('  they get the group\'s target when their agent returns; --require-all-hosts makes this a failure');
  }
  if (failedHosts.length > 0 || d.status !== 'Succeeded') {
    const first = failedHosts[0];
    lines.push(`details: ferry deploy status ${d.id}` + (first ? `   hook output: ferry deploy logs ${d.id} --host ${first.hostId}` : ''));
  }
  return lines;
}
