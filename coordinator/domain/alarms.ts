import { FerryError } from '../../common/errors.js';
import {
  ALARM_KINDS, ALARM_NAME, type AlarmKind, type AlarmSpec, DEFAULT_TIMEOUT_MS, MAX_FOR_MS, MAX_TIMEOUT_MS, formatDuration,
  httpUrlProblem, isAlarmKind, splitHostPort,
} from '../../common/health/spec.js';

export type { AlarmKind, AlarmSpec };

/**
 * Health alarm expressions (a deployment group's alarms; each agent evaluates them, see
 * agent/health/). Pure. Keywords are case-insensitive.
 *
 *   alarm    := [NAME ':'] expr clause*
 *   expr     := 'cpu' '>' PERCENT | 'memory' '>' PERCENT | 'disk(' PATH ')' '>' PERCENT
 *             | 'http' 'GET' URL | 'tcp' HOST:PORT | 'command' ARG+
 *   clause   := 'timeout' DURATION      (http, tcp, command; defaults 2s, 2s, 10s)
 *             | 'for' DURATION          (default 0: one failing sample is enough)
 *   PERCENT  := 0-100, the '%' optional      DURATION := NUMBER ('ms'|'s'|'m'|'h')
 *   NAME     := [A-Za-z0-9][A-Za-z0-9._-]{0,62}; default: cpu, memory, disk:PATH, http:URL,
 *               tcp:ADDRESS, command:BASENAME
 *
 * Command arguments are split on whitespace; double quotes group ("two words") and are removed
 * (no escapes, no shell). Clauses are read from the end, so a command argument spelled `for` or
 * `timeout` must be quoted.
 */
export const ALARM_FORMS: readonly string[] = [
  'cpu > 80%',
  'memory > 90%',
  'disk(/var) > 85%',
  'http GET http://127.0.0.1:8080/health [timeout 2s]',
  'tcp 127.0.0.1:5432 [timeout 2s]',
  'command /usr/local/bin/check-app --quick [timeout 10s]',
];

const ACCEPTED = `Accepted forms: [NAME:] ${ALARM_FORMS.join(' | ')}; each with an optional 'for 30s'`;
const METRICS: readonly AlarmKind[] = ['cpu', 'memory', 'disk'];

interface Token {
  text: string;
  quoted: boolean;
}

class Problem extends Error {}

/** The default name of an alarm without `NAME:`. */
export function defaultAlarmName(s: Pick<AlarmSpec, 'kind' | 'path' | 'url' | 'address' | 'argv'>): string {
  switch (s.kind) {
    case 'disk': return `disk:${s.path ?? ''}`;
    case 'http': return `http:${s.url ?? ''}`;
    case 'tcp': return `tcp:${s.address ?? ''}`;
    case 'command': return `command:${(s.argv?.[0] ?? '').split('/').pop() ?? ''}`;
    default: return s.kind;
  }
}

/** Parses one alarm expression; throws INVALID_ARGUMENT naming the problem and the accepted forms. */
export function parseAlarm(text: string): AlarmSpec {
  try {
    return parse(text);
  } catch (err) {
    if (!(err instanceof Problem)) throw err;
    throw new FerryError('INVALID_ARGUMENT', `alarm '${text.trim()}': ${err.message}. ${ACCEPTED}`);
  }
}

function parse(text: string): AlarmSpec {
  if (text.trim() === '') throw new Problem('the alarm is empty');
  const named = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*:(?!\/\/)(.*)$/s.exec(text);
  const name = named?.[1];
  if (name !== undefined && !ALARM_NAME.test(name)) throw new Problem(`the name '${name}' is longer than 63 characters`);
  const body = tokenize(named ? named[2]! : text);
  const { timeoutMs, forMs } = takeClauses(body);
  const first = body[0]?.text ?? '';
  const kind = /^[A-Za-z]+/.exec(first)?.[0].toLowerCase() ?? '';
  if (!isAlarmKind(kind)) {
    throw new Problem(first === '' ? 'the alarm has no expression' : `unknown alarm kind '${first}' (known: ${ALARM_KINDS.join(', ')})`);
  }
  if (timeoutMs !== undefined && METRICS.includes(kind)) throw new Problem(`'timeout' applies to http, tcp and command alarms, not ${kind}`);
  const spec = parseExpression(kind, body);
  return { name: name ?? defaultAlarmName(spec), ...spec, timeoutMs: timeoutMs ?? DEFAULT_TIMEOUT_MS[kind], forMs: forMs ?? 0 };
}

type Expression = Omit<AlarmSpec, 'name' | 'timeoutMs' | 'forMs'>;

function parseExpression(kind: AlarmKind, body: Token[]): Expression {
  const joined = body.map(t => t.text).join(' ');
  switch (kind) {
    case 'cpu':
    case 'memory': {
      const m = new RegExp(`^${kind}\\s*(.*)$`, 'is').exec(joined);
      return { kind, thresholdPercent: threshold(kind, m?.[1] ?? '', `${kind} > PERCENT%`) };
    }
    case 'disk': {
      const m = /^disk\s*\(\s*([^()]*?)\s*\)\s*(.*)$/is.exec(joined);
      if (!m) throw new Problem("a disk alarm is written 'disk(PATH) > PERCENT%'");
      if (!m[1]!.startsWith('/')) throw new Problem(`disk path '${m[1]}' is not absolute`);
      return { kind, path: m[1]!, thresholdPercent: threshold(kind, m[2]!, 'disk(PATH) > PERCENT%') };
    }
    case 'http':
      return parseHttp(body);
    case 'tcp': {
      if (body[0]!.text.toLowerCase() !== 'tcp' || body.length !== 2) throw new Problem("a tcp alarm is written 'tcp HOST:PORT'");
      const hp = splitHostPort(body[1]!.text);
      if ('problem' in hp) throw new Problem(hp.problem);
      return { kind, address: body[1]!.text };
    }
    case 'command': {
      if (body[0]!.text.toLowerCase() !== 'command') throw new Problem("a command alarm is written 'command PROGRAM [ARG...]'");
      const argv = body.slice(1).map(t => t.text);
      if (argv.length === 0 || argv[0] === '') throw new Problem('the command alarm names no program to run');
      return { kind, argv };
    }
  }
}

function parseHttp(body: Token[]): Expression {
  if (body[0]!.text.toLowerCase() !== 'http' || body.length < 2) throw new Problem("an http alarm is written 'http GET URL'");
  if (body.length === 2 && /^[a-z][a-z0-9+.-]*:/i.test(body[1]!.text)) throw new Problem("the method is missing: write 'http GET URL'");
  const method = body[1]!.text;
  if (method.toUpperCase() !== 'GET') throw new Problem(`method '${method}' is not supported: only GET`);
  if (body.length !== 3) {
    throw new Problem(body.length < 3 ? 'the URL is missing' : `unexpected '${body[3]!.text}' after the URL`);
  }
  const url = body[2]!.text;
  const problem = httpUrlProblem(url);
  if (problem) throw new Problem(problem);
  return { kind: 'http', url: new URL(url).href };
}

/** `> 80%` → 80. */
function threshold(kind: AlarmKind, text: string, form: string): number {
  const m = /^(>=|<=|==|=|<|>)?\s*(.*)$/s.exec(text.trim())!;
  if (m[1] !== '>') {
    throw new Problem(m[1] ? `only '>' is supported, not '${m[1]}': write '${form}'` : `a ${kind} alarm is written '${form}'`);
  }
  const n = /^(\d+(?:\.\d+)?)\s*%?$/.exec(m[2]!.trim());
  if (!n) throw new Problem(`'${m[2]!.trim()}' is not a percentage (0-100%)`);
  const value = Number(n[1]);
  if (value > 100) throw new Problem(`threshold ${n[1]}% is out of range (0-100%)`);
  return value;
}

/** Whitespace-separated; double quotes group and are removed; no escapes. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let cur: Token | undefined;
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') {
      quoted = !quoted;
      cur ??= { text: '', quoted: true };
      cur.quoted = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (cur) tokens.push(cur);
      cur = undefined;
    } else {
      cur ??= { text: '', quoted: false };
      cur.text += ch;
    }
  }
  if (quoted) throw new Problem('a double quote is not closed');
  if (cur) tokens.push(cur);
  return tokens;
}

const CLAUSES = ['timeout', 'for'] as const;
const isClause = (t: Token | undefined): t is Token => !!t && !t.quoted && (CLAUSES as readonly string[]).includes(t.text.toLowerCase());

/** Removes trailing `timeout D` / `for D` clauses (any order, each once) from `body`. */
function takeClauses(body: Token[]): { timeoutMs?: number; forMs?: number } {
  const found: { timeout?: number; for?: number } = {};
  for (;;) {
    const last = body.at(-1);
    if (isClause(last)) throw new Problem(`'${last.text}' needs a duration (e.g. ${last.text.toLowerCase()} 30s)`);
    const kw = body.at(-2);
    if (body.length < 3 || !isClause(kw)) break;
    const key = kw.text.toLowerCase() as (typeof CLAUSES)[number];
    if (found[key] !== undefined) throw new Problem(`'${key}' is given twice`);
    const ms = parseDuration(key, body.at(-1)!.text);
    if (key === 'timeout' && (ms <= 0 || ms > MAX_TIMEOUT_MS)) throw new Problem(`timeout ${body.at(-1)!.text} is out of range (more than 0, at most 1h)`);
    if (key === 'for' && ms > MAX_FOR_MS) throw new Problem(`for ${body.at(-1)!.text} is out of range (at most 24h)`);
    found[key] = ms;
    body.splice(-2, 2);
  }
  return { ...(found.timeout !== undefined && { timeoutMs: found.timeout }), ...(found.for !== undefined && { forMs: found.for }) };
}

function parseDuration(key: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/i.exec(text);
  if (!m) throw new Problem(`'${key} ${text}': '${text}' is not a duration (a number with ms, s, m or h: 500ms, 30s, 2m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]!.toLowerCase() as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/** The text form of a spec; `parseAlarm(formatAlarm(s))` gives `s` back for every spec parseAlarm returns. */
export function formatAlarm(s: AlarmSpec): string {
  let text: string;
  switch (s.kind) {
    case 'cpu':
    case 'memory': text = `${s.kind} > ${s.thresholdPercent ?? 0}%`; break;
    case 'disk': text = `disk(${s.path ?? ''}) > ${s.thresholdPercent ?? 0}%`; break;
    case 'http': text = `http GET ${s.url ?? ''}`; break;
    case 'tcp': text = `tcp ${s.address ?? ''}`; break;
    case 'command': text = ['command', ...(s.argv ?? []).map(quoteArg)].join(' '); break;
  }
  if (!METRICS.includes(s.kind) && s.timeoutMs !== DEFAULT_TIMEOUT_MS[s.kind]) text += ` timeout ${formatDuration(s.timeoutMs)}`;
  if (s.forMs > 0) text += ` for ${formatDuration(s.forMs)}`;
  return s.name === defaultAlarmName(s) ? text : `${s.name}: ${text}`;
}

function quoteArg(arg: string): string {
  if (arg.includes('"')) throw new FerryError('INVALID_ARGUMENT', `command argument '${arg}' contains a double quote, which the alarm syntax cannot express`);
  const needsQuotes = arg === '' || /\s/.test(arg) || (CLAUSES as readonly string[]).includes(arg.toLowerCase());
  return needsQuotes ? `"${arg}"` : arg;
}
