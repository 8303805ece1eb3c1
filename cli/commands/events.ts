import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import type { Event__Output } from '../../proto/gen/ferry/v1/Event.js';
import { NONE } from '../format.js';
import type { Paint } from '../output.js';
import { resumable } from '../resume.js';
import type { Runner } from '../session.js';

/** `--since SEQ`: a whole number ≥ 0 (events after it). */
export function parseSince(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d+$/.test(raw.trim())) throw new FerryError('INVALID_ARGUMENT', `--since: '${raw}' is not a sequence number (a whole number ≥ 0, e.g. the seq of the last event you saw)`);
  return Number(raw);
}

/** A JSON field of an API message, parsed for printing (`{ raw }` if it is not JSON). Pure. */
export function parseJsonField(raw: string): unknown {
  try {
    return JSON.parse(raw || '{}');
  } catch {
    return { raw };
  }
}

/** One event as the JSON line `ferry events --json` prints: the API's message with its payload parsed. */
export function eventJson(e: Event__Output): Record<string, unknown> {
  const { payloadJson, ...rest } = e;
  return { ...rest, payload: parseJsonField(payloadJson) };
}

const KIND_COLOR: Readonly<Record<string, string>> = { Success: '32', Failure: '31', Stop: '33', Rollback: '33', Unknown: '33' };

/** One human line: seq, time, kind, app/group, deployment, host, lifecycle event, status, error. Pure. */
export function eventLine(e: Event__Output, c: Paint): string {
  const payload = eventJson(e).payload as Record<string, unknown>;
  const color = Object.entries(KIND_COLOR).find(([suffix]) => e.kind.endsWith(suffix))?.[1] ?? '';
  const error = [payload.errorCode, payload.errorMessage].filter(x => typeof x === 'string' && x !== '').join(': ');
  const where = [e.deploymentId, e.hostId, e.lifecycleEvent].filter(Boolean).join(' ');
  return [
    String(e.seq).padStart(6), e.at, c(color, e.kind.padEnd(18)), `${e.application}/${e.groupName}`.padEnd(16),
    where || NONE, e.status, ...(error ? [`(${error})`] : []),
  ].join('  ');
}

export function registerEventsCommand(program: Command, r: Runner): void {
  const cmd = r
    .leaf(program, 'events', 'print the event log: every deployment, host and lifecycle event, in order, resumable by seq', [
      'ferry events                         # every event kept, oldest first',
      'ferry events --app shop --since 1200 # only shop\'s, after seq 1200',
      'ferry events --follow --json | jq -c \'select(.kind == "DeploymentFailure")\'',
      '  # --json prints one JSON object per line (with its seq): resume with --since <last seq>',
      '  # kinds, payloads and retention: docs/notifications.md',
    ])
    .option('--since <seq>', 'only events after this sequence number (default 0: from the oldest kept)')
    .option('--app <app>', 'only this application\'s events')
    .option('--follow', 'keep printing new events until interrupted (Ctrl-C); resumes after the last seq when the coordinator restarts');
  const json = cmd.options.find(o => o.long === '--json');
  if (json) json.description = 'print one JSON object per line (each with its seq), not one document, so --follow can stream';
  r.action(cmd, async (s, _args, opts) => {
    const since = parseSince(opts.since as string | undefined);
    const app = opts.app === undefined ? '' : String(opts.app).trim();
    if (opts.app !== undefined && app === '') throw new FerryError('INVALID_ARGUMENT', '--app: give an application name');
    let count = 0;
    const follow = opts.follow === true;
    const stream = follow
      ? resumable<Event__Output>(s, { what: 'events', after: since, endIsBreak: true, seqOf: e => Number(e.seq), open: after => s.api().streamEvents({ sinceSeq: after, application: app, follow }) })
      : s.api().streamEvents({ sinceSeq: since, application: app, follow });
    for await (const e of stream) {
      count++;
      if (s.out.json) s.out.w.out(JSON.stringify(eventJson(e)) + '\n');
      else s.out.line(eventLine(e, s.out.c));
    }
    if (count === 0 && !s.out.json) s.out.note(`(no events${app ? ` of ${app}` : ''} after seq ${since})`);
  });
}
