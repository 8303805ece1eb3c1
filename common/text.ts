/**
 * Control characters in text that came from elsewhere (docs/security.md): an enrolled host's hostname or
 * tags, hook output, a caller's host id. Printed raw they drive the reader's terminal (OSC 52
 * clipboard writes, screen clears, title changes); stored raw they do the same to whoever reads the
 * audit log later. Pure.
 */

/** C0 controls, DEL and C1 controls (U+0080–U+009F). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** The same without tab and newline. */
const CONTROL_BUT_LAYOUT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

const escaped = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** Every control character as a visible `\xNN` (ESC → `\x1b`, newline → `\x0a`): for one-line fields. */
export function escapeControls(s: string): string {
  return s.replace(CONTROL, escaped);
}

/** As escapeControls, but keeps tab and newline: for multi-line text such as hook output. */
export function escapeControlsKeepLines(s: string): string {
  return s.replace(CONTROL_BUT_LAYOUT, escaped);
}

/** Whether `s` holds a control character (tab and newline included). */
export function hasControls(s: string): boolean {
  return /[\u0000-\u001f\u007f-\u009f]/.test(s);
}

/** At most `max` characters of `s` with controls escaped, and `…(N more)` when cut: for text that is stored or logged. */
export function boundedText(s: string, max: number): string {
  const head = escapeControls(s.slice(0, max));
  return head.length > max || s.length > max ? `${head.slice(0, max)}…(${s.length} characters)` : head;
}

/**
 * A copy of `value` with escapeControlsKeepLines applied to every string in it (objects and arrays
 * walked; Buffers and other values as they are): for a response whose fields go to a terminal. Pure.
 */
export function escapeDeep<T>(value: T): T {
  if (typeof value === 'string') return escapeControlsKeepLines(value) as T;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(escapeDeep) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = escapeDeep(v);
  return out as T;
}

/**
 * How every program names a host: its id, and its hostname beside it when that differs
 * (`web-1 (ip-10-0-0-5)`): never the hostname alone, which many hosts may share. Pure.
 */
export function hostLabel(hostId: string, hostname?: string): string {
  return hostname && hostname !== hostId ? `${hostId} (${hostname})` : hostId;
}

/**
 * Orders strings by UTF-16 code unit, as `Array.prototype.sort` does by default: the same order on
 * every host whatever its locale. Not `localeCompare`: its first call loads ICU's collation data
 * (~3 MiB of resident memory an idle agent then keeps for its whole life, docs/agent.md).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
