/**
 * Change notifications between coordinator replicas, over PostgreSQL LISTEN/NOTIFY (channel `ferry_changes`).
 *
 * Each replica already wakes its own watchers with names (`deployment:<id>`, `events`, `audit`,
 * `logs:<id>`; coordinator/changes.ts) and re-reads the store, which stays the source of truth. The bus carries
 * those names to the other replicas, plus `host:<id>` ("this host has a command waiting": the replica holding
 * the host's stream sends it). A notification is a hint, never data, so losing one costs a delay, not a
 * result: while a replica's listening connection is down it cannot hear anything, so once it is back it
 * calls its `onResync` listeners, which re-read everything they watch.
 *
 * Why LISTEN/NOTIFY and not an ownership table polled by every replica: the database is already shared, a
 * notification reaches every replica within milliseconds of the commit that caused it (NOTIFY inside a
 * transaction is delivered at commit, never for a rolled-back one), and nothing needs cleaning up when a
 * replica dies. Names published in one tick go out together, in as few NOTIFYs as fit PostgreSQL's 8,000-byte
 * payload limit.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';

export const CHANGES_CHANNEL = 'ferry_changes';

/** PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more; keep room for the envelope. */
const MAX_PAYLOAD_BYTES = 7000;

export interface BusOptions {
  /** This replica's id (its own notifications are not delivered back to it). Default a random UUID. */
  replicaId?: string;
  /** First delay before reconnecting the listener; doubles to `maxReconnectMs`. Default 250 ms. */
  reconnectMs?: number;
  /** Default 5,000 ms. */
  maxReconnectMs?: number;
  /**
   * How often the listening connection is checked with a query (a cut network raises no error by itself);
   * a check that gets no answer in this time counts as a lost connection. Default 5,000 ms.
   */
  pingMs?: number;
  /** Publish or listen failures (the bus retries on its own). */
  onError?: (err: unknown) => void;
}

interface Envelope {
  /** The publishing replica. */
  r: string;
  /** The names. */
  n: string[];
}

/** Splits names into payloads under the size limit (a name longer than the limit alone is dropped: ids are short). */
export function payloads(replicaId: string, names: readonly string[]): string[] {
  const out: string[] = [];
  let batch: string[] = [];
  let size = 0;
  const envelope = JSON.stringify({ r: replicaId, n: [] } satisfies Envelope).length;
  for (const name of names) {
    const cost = Buffer.byteLength(JSON.stringify(name)) + 1;
    if (envelope + cost > MAX_PAYLOAD_BYTES) continue;
    if (size + cost + envelope > MAX_PAYLOAD_BYTES && batch.length > 0) {
      out.push(JSON.stringify({ r: replicaId, n: batch } satisfies Envelope));
      batch = [];
      size = 0;
    }
    batch.push(name);
    size += cost;
  }
  if (batch.length > 0) out.push(JSON.stringify({ r: replicaId, n: batch } satisfies Envelope));
  return out;
}

export class PgBus {
  readonly replicaId: string;
  readonly #pool: pg.Pool;
  readonly #clientConfig: pg.ClientConfig;
  readonly #opts: Required<Omit<BusOptions, 'onError' | 'replicaId'>> & Pick<BusOptions, 'onError'>;
  readonly #nameListeners = new Set<(names: string[]) => void>();
  readonly #resyncListeners = new Set<() => void>();
  readonly #pending = new Set<string>();
  #listener: pg.Client | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  #delay: number;
  #everConnected = false;
  #flushing: Promise<void> = Promise.resolve();
  #ping: NodeJS.Timeout | undefined;

  /**
   * `pool` publishes; `clientConfig` opens the one dedicated listening connection (LISTEN needs a session of
   * its own: a pooled connection goes back to the pool and would stop listening).
   */
  constructor(pool: pg.Pool, clientConfig: pg.ClientConfig, opts: BusOptions = {}) {
    this.#pool = pool;
    this.#clientConfig = clientConfig;
    this.replicaId = opts.replicaId ?? randomUUID();
    this.#opts = { reconnectMs: opts.reconnectMs ?? 250, maxReconnectMs: opts.maxReconnectMs ?? 5000, pingMs: opts.pingMs ?? 5000, onError: opts.onError };
    this.#delay = this.#opts.reconnectMs;
  }

  /** Connects the listener; resolves once this replica hears notifications (rejects if the first try fails). */
  async start(): Promise<void> {
    await this.#listen();
  }

  /** Names from other replicas, a batch per notification. */
  onNames(fn: (names: string[]) => void): () => void {
    this.#nameListeners.add(fn);
    return () => this.#nameListeners.delete(fn);
  }

  /** Called after the listener reconnected: notifications may have been missed, re-read what you watch. */
  onResync(fn: () => void): () => void {
    this.#resyncListeners.add(fn);
    return () => this.#resyncListeners.delete(fn);
  }

  /** Queues names for the other replicas; the names of one tick go out together. */
  publish(names: Iterable<string>): void {
    if (this.#closed) return;
    const wasEmpty = this.#pending.size === 0;
    for (const n of names) this.#pending.add(n);
    if (wasEmpty && this.#pending.size > 0) setImmediate(() => { this.#flushing = this.#flushing.then(() => this.#flush()); });
  }

  /** Resolves once everything published so far was handed to PostgreSQL (or failed). */
  async flushed(): Promise<void> {
    await new Promise<void>(resolve => setImmediate(resolve));
    await this.#flushing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    if (this.#ping !== undefined) clearInterval(this.#ping);
    await this.#flushing;
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener !== undefined) await listener.end().catch(() => undefined);
  }

  async #flush(): Promise<void> {
    const names = [...this.#pending];
    this.#pending.clear();
    for (const payload of payloads(this.replicaId, names)) {
      try {
        await this.#pool.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, payload]);
      } catch (err) {
        // The database is unreachable: the other replicas' listeners are cut off too and resync when it is back.
        this.#opts.onError?.(err);
        return;
      }
    }
  }

  async #listen(): Promise<void> {
    // A connection (or LISTEN) that gets no answer counts as failed after one check's time, and is retried.
    const client = new pg.Client({ connectionTimeoutMillis: this.#opts.pingMs, ...this.#clientConfig });
    let failed = false;
    const lost = (err?: unknown): void => {
      if (failed) return;
      failed = true;
      this.#opts.onError?.(err ?? new Error('the listening connection to PostgreSQL ended'));
      if (this.#listener === client) this.#listener = undefined;
      if (this.#ping !== undefined) clearInterval(this.#ping);
      this.#ping = undefined;
      client.end().catch(() => undefined);
      this.#scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => { if (!this.#closed) lost(); });
    client.on('notification', msg => {
      if (msg.channel !== CHANGES_CHANNEL || msg.payload === undefined) return;
      let envelope: Envelope;
      try {
        envelope = JSON.parse(msg.payload) as Envelope;
      } catch {
        return;
      }
      if (envelope.r === this.replicaId || !Array.isArray(envelope.n)) return;
      const names = envelope.n.filter((n): n is string => typeof n === 'string');
      for (const fn of this.#nameListeners) fn(names);
    });
    try {
      await client.connect();
      await client.query({ text: `LISTEN ${CHANGES_CHANNEL}`, query_timeout: this.#opts.pingMs } as pg.QueryConfig);
    } catch (err) {
      failed = true;
      client.end().catch(() => undefined);
      if (!this.#everConnected) throw err;
      this.#opts.onError?.(err);
      this.#scheduleReconnect();
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#listener = client;
    this.#delay = this.#opts.reconnectMs;
    const check: pg.QueryConfig & { query_timeout: number } = { text: 'SELECT 1', query_timeout: this.#opts.pingMs };
    this.#ping = setInterval(() => { client.query(check).catch(lost); }, this.#opts.pingMs);
    this.#ping.unref();
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    if (reconnected) for (const fn of this.#resyncListeners) fn();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retry !== undefined) return;
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, this.#opts.maxReconnectMs);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#listen();
    }, delay);
  }
}
