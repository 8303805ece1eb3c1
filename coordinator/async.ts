import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';

/**
 * Helpers for the asynchronous store (coordinator/store/store.ts): array steps whose callback awaits
 * the store, run one item after another (in order, so the store sees the calls in the order a
 * synchronous loop made them), and the per-key lock that keeps a group's read-modify-write whole.
 */
/** An async context made at start-up, outside every transaction and lock. */
const ROOT = new AsyncResource('ferry.detached');

/**
 * Runs `fn` (synchronously) outside the caller's async context: timers, immediates and promises it
 * starts carry no open store transaction (store/pg-db.ts, store/sqlite-store.ts) and no group lock.
 * Work that only *happens to be triggered* inside a transaction (a change notification, a scheduler
 * kick, a watcher's re-read) must not run as part of it: on PostgreSQL it would send its statements
 * on the transaction's connection, interleaved with the transaction's own, or after it ended.
 */
export function detached<T>(fn: () => T): T {
  return ROOT.runInAsyncScope(fn);
}

export async function filterSeq<T>(items: readonly T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const kept: T[] = [];
  for (const item of items) if (await keep(item)) kept.push(item);
  return kept;
}

export async function mapSeq<T, U>(items: readonly T[], f: (item: T, index: number) => Promise<U>): Promise<U[]> {
  const out: U[] = [];
  for (const [i, item] of items.entries()) out.push(await f(item, i));
  return out;
}

/** A hold on one key, live until its holder's function settles. */
interface Hold {
  live: boolean;
}

/**
 * A mutex per key (a deployment group's id): `run(key, fn)` runs `fn` once every earlier `run` of
 * that key has settled, so a read-modify-write over the store that awaits between its read and its
 * write is not interleaved with another one of the same group. Re-entrant: a `run` of a key already
 * held by the calling async context (a stop from within the scheduler's pass of that group) runs at
 * once. Work the holder starts and leaves running (a timer, a kick) does not inherit the hold once
 * the holder's function has settled. Keys without waiters are forgotten.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly held = new AsyncLocalStorage<ReadonlyMap<string, Hold>>();

  /**
   * `across(key, fn)`: runs `fn` also holding the key across every coordinator replica (replicas/group-lock.ts:
   * on PostgreSQL a transaction holding an advisory lock); taken once this process' own lock is held.
   */
  constructor(private readonly across?: <T>(key: string, fn: () => Promise<T>) => Promise<T>) {}

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const holds = this.held.getStore();
    if (holds?.get(key)?.live) return fn();
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = new Promise<void>(resolve => (release = resolve));
    this.tails.set(key, tail);
    await previous;
    const hold: Hold = { live: true };
    try {
      const across = this.across;
      return await this.held.run(new Map([...(holds ?? []), [key, hold]]), across === undefined ? fn : () => across(key, fn));
    } finally {
      hold.live = false;
      if (this.tails.get(key) === tail) this.tails.delete(key);
      release();
    }
  }

  /** True while some `run` of `key` is running or waiting. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
