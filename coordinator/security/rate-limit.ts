/**
 * Per-address counting for the limits on unauthenticated traffic (docs/security.md): refused calls per
 * address and minute (token guessing is then as slow as the limit; security/auth.ts), and the audit
 * records a single address may add per minute (server.ts). A fixed window per address that starts
 * with its first event; the clock is a parameter. No I/O.
 */
import { peerAddress } from '../domain/audit.js';

/** The window the limits count in. */
export const LIMIT_WINDOW_MS = 60_000;
/** Addresses remembered at most; older windows are dropped first when more appear (a spoofing flood cannot grow memory). */
const MAX_ADDRESSES = 100_000;

export class AddressCounter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  /** `limit` events per address per window; 0 means no limit. */
  constructor(readonly limit: number, private readonly windowMs = LIMIT_WINDOW_MS) {}

  /** Counts one event from `peer` (address:port or address) at `now`; returns the count in its window, this one included. */
  note(peer: string, now: number): number {
    const key = peerAddress(peer);
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      this.windows.delete(key);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
      this.prune(now);
    }
    w.count += 1;
    return w.count;
  }

  /** Whether `peer`'s address has reached the limit in its current window. */
  reached(peer: string, now: number): boolean {
    if (this.limit <= 0) return false;
    const w = this.windows.get(peerAddress(peer));
    return w !== undefined && now - w.start < this.windowMs && w.count >= this.limit;
  }

  /** Whether one more event from `peer` would be past the limit (the event is then counted). */
  over(peer: string, now: number): boolean {
    const n = this.note(peer, now);
    return this.limit > 0 && n > this.limit;
  }

  private prune(now: number): void {
    if (this.windows.size <= MAX_ADDRESSES) return;
    // Insertion order is window start order (a renewed window is re-inserted): drop from the front.
    for (const [key, w] of this.windows) {
      if (this.windows.size <= MAX_ADDRESSES && now - w.start < this.windowMs) break;
      this.windows.delete(key);
    }
  }
}
