/**
 * Caps on what one caller may hold open (docs/security.md, "Streams and downloads"): server streams
 * per caller (maxStreamsPerCaller) and revision downloads per host (maxDownloadsPerHost). A caller
 * past its cap is refused with RESOURCE_EXHAUSTED naming the limit and its setting. No I/O.
 */
import { FerryError } from '../../common/errors.js';
import { peerAddress } from '../domain/audit.js';
import type { Caller } from './auth.js';

/** Counts what each key holds; `acquire` refuses past `limit` (0: no limit). */
export class PerKeyLimit {
  private readonly held = new Map<string, number>();

  constructor(readonly limit: number, private readonly refusal: (key: string, limit: number) => FerryError) {}

  /** Takes one for `key` or throws the refusal; the function returned gives it back (once). */
  acquire(key: string): () => void {
    const n = this.held.get(key) ?? 0;
    if (this.limit > 0 && n >= this.limit) throw this.refusal(key, this.limit);
    this.held.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left > 0) this.held.set(key, left);
      else this.held.delete(key);
    };
  }

  /** What `key` holds now. */
  count(key: string): number {
    return this.held.get(key) ?? 0;
  }
}

/**
 * Whose streams count together: an API token's (whatever address it calls from); without one
 * (--insecure, or a call not yet identified) the client address's.
 */
export function streamOwner(caller: Caller | undefined, peer: string): string {
  return caller?.id.startsWith('token:') ? caller.id : `address ${peerAddress(peer.replace(/^ipv[46]:/, ''))}`;
}

export function streamLimit(limit: number): PerKeyLimit {
  return new PerKeyLimit(limit, (key, n) => new FerryError('RESOURCE_EXHAUSTED',
    `${key} has ${n} streams open (watches, log and event follows, console pages), the most one caller may hold (setting maxStreamsPerCaller, --max-streams-per-caller): close some, or raise the limit`));
}

export function downloadLimit(limit: number): PerKeyLimit {
  return new PerKeyLimit(limit, (host, n) => new FerryError('RESOURCE_EXHAUSTED',
    `host ${host} has ${n} downloads open, the most one host may hold (setting maxDownloadsPerHost, --max-downloads-per-host): try again once one has finished`));
}
