import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import { AUDIT_OUTCOMES } from '../../common/audit.js';
import type { AuditRecord__Output } from '../../proto/gen/ferry/v1/AuditRecord.js';
import { parsePositiveInt, requireText } from '../args.js';
import type { Paint } from '../output.js';
import type { Runner } from '../session.js';
import { parseJsonField, parseSince } from './events.js';

/** One record as the JSON line `ferry audit --json` prints: the API's message with its target parsed. */
export function auditJson(r: AuditRecord__Output): Record<string, unknown> {
  const { targetJson, ...rest } = r;
  return { ...rest, target: parseJsonField(targetJson) };
}

const OUTCOME_COLOR: Readonly<Record<string, string>> = { ok: '32', failed: '33', refused: '31' };

/** One human line: seq, time, outcome, actor (role), action, from where, what, and the error. Pure. */
export function auditLine(r: AuditRecord__Output, c: Paint): string {
  const target = auditJson(r).target as Record<string, unknown>;
  const what = Object.entries(target).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ');
  const error = r.code ? `${r.code}: ${r.message}` : '';
  return [
    String(r.seq).padStart(6), r.at, c(OUTCOME_COLOR[r.outcome] ?? '', r.outcome.padEnd(7)),
    `${r.actor}${r.role ? ` (${r.role})` : ''}`, r.action.replace(/^\w+Service\//, ''), ...(r.peer ? [`from ${r.peer}`] : []),
    ...(what ? [what] : []), ...(error ? [`— ${error}`] : []), ...(r.count > 1 ? [`(×${r.count}, last ${r.lastAt})`] : []),
  ].join('  ');
}

export function registerAuditCommand(program: Command, r: Runner): void {
  const cmd = r
    .leaf(program, 'audit', 'print the audit log (admin): every mutating call and every refused one — who, what, when, from where, and how it ended', [
      'ferry audit                              # every record kept (coordinator audit-retention, default 365d), oldest first',
      'ferry audit --last 20 --follow           # the newest 20, then new records as they come',
      'ferry audit --outcome refused            # bad tokens, weak roles, foreign certificates',
      'ferry audit --actor token:abcdefghij12 --json | jq -c .',
      '  # --json prints one JSON object per line (with its seq): resume with --since <last seq>',
    ])
    .option('--since <seq>', 'only records after this sequence number (default 0: from the first)')
    .option('--last <n>', 'only the newest N matching records (then follows, with --follow)')
    .option('--actor <actor>', 'only this caller: token:<id>, host:<id>, join-token:<id>, anonymous, insecure-local')
    .option('--action <rpc>', 'only this call, e.g. CreateDeployment or ControlService/CreateDeployment')
    .option('--outcome <outcome>', `only ${AUDIT_OUTCOMES.join(', ')}`)
    .option('--follow', 'keep printing new records until interrupted (Ctrl-C)');
  const json = cmd.options.find(o => o.long === '--json');
  if (json) json.description = 'print one JSON object per line (each with its seq), not one document, so --follow can stream';
  r.action(cmd, async (s, _args, opts) => {
    const since = parseSince(opts.since as string | undefined);
    const last = opts.last === undefined ? 0 : parsePositiveInt(String(opts.last), '--last');
    const outcome = opts.outcome === undefined ? '' : String(opts.outcome);
    if (outcome && !(AUDIT_OUTCOMES as readonly string[]).includes(outcome)) {
      throw new FerryError('INVALID_ARGUMENT', `--outcome: '${outcome}' is not one of ${AUDIT_OUTCOMES.join(', ')}`);
    }
    const text = (flag: string, v: unknown) => (v === undefined ? '' : requireText(String(v), flag));
    let count = 0;
    const stream = s.api().streamAudit({
      sinceSeq: since, last, follow: opts.follow === true, outcome,
      actor: text('--actor', opts.actor), action: text('--action', opts.action),
    });
    for await (const rec of stream) {
      count++;
      if (s.out.json) s.out.w.out(JSON.stringify(auditJson(rec)) + '\n');
      else s.out.line(auditLine(rec, s.out.c));
    }
    if (count === 0 && !s.out.json) s.out.note(`(no audit records after seq ${since})`);
  });
}
