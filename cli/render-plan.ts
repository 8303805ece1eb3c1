import { hostLabel } from '../common/text.js';
import type { DeploymentPlan__Output } from '../proto/gen/ferry/v1/DeploymentPlan.js';
import type { PlanFileChange__Output } from '../proto/gen/ferry/v1/PlanFileChange.js';
import type { PlanHook__Output } from '../proto/gen/ferry/v1/PlanHook.js';
import type { PlanRevisionChange__Output } from '../proto/gen/ferry/v1/PlanRevisionChange.js';
import { formatMinHealthy, formatTime, shortDigest, table , type Zone, UTC } from './format.js';
import { COLORS, type Paint } from './output.js';

/** File changes listed per revision change before "… N more" (`--json` has them all). */
export const MAX_FILES_SHOWN = 20;

const MARK: Readonly<Record<string, string>> = { added: '+', changed: '~', removed: '-', permissions: 'm' };

/** A plan as text (pure): rollout, hosts, then per current revision the hooks and the file changes. */
export function planLines(p: DeploymentPlan__Output, c: Paint, maxFiles = MAX_FILES_SHOWN, zone: Zone = UTC): string[] {
  const out: string[] = [];
  const name = (id: string) => hostLabel(id, p.hosts.find(h => h.hostId === id)?.hostname);
  out.push(c(COLORS.bold, `Plan ${p.id}: ${p.application}/${p.groupName} ← revision ${shortDigest(p.revision)}`));
  out.push(`Config: ${p.configName} (keep ${formatMinHealthy(p.minimumHealthy)} healthy${p.zonal ? ', one zone at a time' : ''})`);
  const o = p.options;
  if (o) {
    const extras = [
      `file exists behavior ${o.fileExistsBehavior}`,
      ...(o.ignoreApplicationStopFailures ? ['ignore application stop failures'] : []),
      ...(o.hasApproveAfter ? [`approve after ${o.approveAfter} host(s)`] : []),
      ...(o.approveAfterZones > 0 ? ['approve after the first zone'] : []),
      ...(o.overrideAutoRollback ? [`auto-rollback ${o.autoRollback.join(',') || 'none'}`] : []),
      ...(o.ignoreAlarms ? ['alarms ignored'] : []),
      ...(o.minHealthyTimeMs > 0 ? [`bake ${o.minHealthyTimeMs / 1000}s per host`] : []),
    ];
    out.push(`Options: ${extras.join(', ')}`);
  }
  if (p.windows.length > 0) out.push(`Windows: ${p.windows.join('; ')}`);
  out.push(`Made: ${formatTime(p.createdAt, zone)}, expires ${formatTime(p.expiresAt, zone)}${p.usedBy ? `, ${c(COLORS.yellow, `used by ${p.usedBy}`)}` : ''}`);
  out.push('');
  const hosts = p.hosts.length;
  out.push(`Rollout: ${hosts} host${hosts === 1 ? '' : 's'} in ${p.waves.length} wave${p.waves.length === 1 ? '' : 's'} (every host assumed to succeed)`);
  for (const w of p.waves) out.push(`  wave ${w.index}${w.zone ? ` (zone ${w.zone})` : ''}: ${w.hostIds.map(name).join(', ')}`);
  if (p.failure) out.push(c(COLORS.red, `  would fail: ${p.failure}`));
  if (hosts > 0) {
    out.push('');
    const rows = p.hosts.map(h => [
      String(h.wave || '-'), h.hostname, h.hostId, h.zone || '-',
      h.currentRevision ? `${shortDigest(h.currentRevision)} (${h.currentStatus})` : 'none',
    ]);
    out.push(...table(['WAVE', 'HOST', 'ID', 'ZONE', 'CURRENT REVISION'], rows, '  '));
  }
  for (const change of p.changes) out.push('', ...changeLines(p, change, name, c, maxFiles));
  if (p.notes.length > 0) out.push('', ...p.notes.map(n => `Note: ${n}`));
  return out;
}

function changeLines(p: DeploymentPlan__Output, change: PlanRevisionChange__Output, name: (id: string) => string, c: Paint, maxFiles: number): string[] {
  const hosts = p.hosts.filter(h => h.changeKey === change.key).map(h => name(h.hostId));
  const from = change.key === 'none' ? 'nothing installed (first install)' : change.key === 'unknown' ? 'an unknown revision' : `revision ${shortDigest(change.fromRevision)}`;
  const out = [c(COLORS.bold, `From ${from} → ${shortDigest(p.revision)} on ${hosts.join(', ')}:`)];
  out.push('  Hooks, in order:');
  out.push(...table(['EVENT', 'FROM', 'SCRIPTS'], change.hooks.map(h => [h.event, hookSource(h, p.revision), scripts(h)]), '    '));
  const d = change.diff;
  if (!d) {
    out.push('  Files: not computed (see below)');
  } else {
    out.push(`  Files: ${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed, ${d.permissions.length} permission change${d.permissions.length === 1 ? '' : 's'}, ${d.unchanged} unchanged`);
    const all: PlanFileChange__Output[] = [...d.added, ...d.changed, ...d.removed, ...d.permissions];
    for (const f of all.slice(0, maxFiles)) out.push(`    ${MARK[f.change] ?? '?'} ${f.path}${f.kind === 'symlink' ? ' (symlink)' : ''}  ${c(COLORS.dim, f.detail)}`);
    if (all.length > maxFiles) out.push(`    … ${all.length - maxFiles} more (the full list: ferry deploy plan --show ${p.id} --json)`);
  }
  out.push(...change.notes.map(n => `  Note: ${n}`));
  return out;
}

function hookSource(h: PlanHook__Output, next: string): string {
  if (h.source === 'agent') return 'Ferry';
  if (h.revision === '') return 'the revision on the host (unknown)';
  return `${shortDigest(h.revision)} (${h.revision === next && h.source === 'current' ? 'new' : 'current'})`;
}

function scripts(h: PlanHook__Output): string {
  if (h.source === 'agent') return h.event === 'Install' ? 'copy files, apply permissions' : 'fetch and check the revision';
  if (h.scripts.length === 0) return 'its scripts, if any';
  return h.scripts.map(s => `${s.location} (${s.timeoutSeconds}s${s.runas ? `, as ${s.runas}` : ''})`).join(', ');
}
