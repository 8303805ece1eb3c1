/**
 * Exponential backoff with full jitter (AWS architecture blog's "Full Jitter"): the n-th retry
 * waits a uniformly random time in [0, min(cap, base · 2^(n-1))). Pure: randomness is a parameter.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** The session's reconnect policy: 0.5 s → 30 s. */
export const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 30_000 };

/**
 * A coordinator that refuses this host (UNAUTHENTICATED or PERMISSION_DENIED at Register: its
 * certificate was revoked, or the host was removed) will not change its mind in a second: retries
 * go 1 min → 30 min (FERRY_AGENT_REFUSED_RETRY_BASE sets the base, for tests), with equal jitter
 * so a fleet revoked at once does not come back in step, and never near zero.
 */
export const REFUSED_BACKOFF: BackoffPolicy = { baseMs: 60_000, capMs: 30 * 60_000 };

/** "Equal jitter": half the ceiling fixed, half random: the n-th wait is in [ceiling/2, ceiling). */
export function refusedDelay(attempt: number, p: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt, p);
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

/** Revision download retries: 0.5 s → 10 s, bounded by the attempt count. */
export const FETCH_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 10_000 };

/** The ceiling of the n-th retry's wait (n ≥ 1). */
export function backoffCeiling(attempt: number, p: BackoffPolicy): number {
  const n = Math.max(1, Math.floor(attempt));
  return Math.min(p.capMs, p.baseMs * 2 ** Math.min(n - 1, 30));
}

export function backoffDelay(attempt: number, p: BackoffPolicy, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, p));
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
