import { EventEmitter } from 'node:events';
import { detached } from './async.js';

/** A host's alarm state, as agents report it and replicas tell each other (Context.alarmStates). */
export interface AlarmStateView { name: string; state: string; reason: string; since: string }

const ALARMS = 'alarms:';

/**
 * What carries change names to the other coordinator replicas (coordinator/replicas/bus.ts, PostgreSQL
 * LISTEN/NOTIFY). Absent with one coordinator (SQLite).
 */
export interface ChangeLink {
  publish(names: Iterable<string>): void;
  onNames(fn: (names: string[]) => void): () => void;
  onResync(fn: () => void): () => void;
}

/**
 * Change notifications, so watchers (WatchDeployment, StreamLogs, the webhook worker) wake up on the
 * change instead of polling. The store stays the source of truth: listeners re-read it. With several
 * replicas (`link`), a change made on one wakes the watchers of every replica, and after a replica's link
 * was down every watcher wakes once (it may have missed changes).
 */
export class Changes {
  private readonly emitter = new EventEmitter();
  private link: ChangeLink | undefined;
  private readonly unlink: (() => void)[] = [];

  /**
   * `whenVisible(fn)` runs `fn` once what the caller changed is visible to other connections: on PostgreSQL
   * after the transaction it runs in has ended (store/pg-db.ts afterTransaction); SQLite has one connection.
   */
  constructor(private readonly whenVisible: (fn: () => void) => void = fn => fn()) {
    this.emitter.setMaxListeners(0);
  }

  /** Names changed this tick, emitted once each on the next (a burst of 10,000 reports wakes a watcher once). */
  private readonly pending = new Set<string>();

  deployment(id: string): void {
    this.later(`deployment:${id}`);
    // A deployment change appends to the event log (store/schema/v08.ts).
    this.events();
  }

  /** The event log may have grown: wakes `ferry events --follow` streams and the webhook worker. */
  events(): void {
    this.later('events');
  }

  /** Names changed on other replicas, emitted here on the next tick without being published again. */
  private readonly remote = new Set<string>();

  private later(name: string): void {
    this.whenVisible(() => {
      // Detached: watchers woken by a change made inside a store transaction do not run as part of it.
      if (this.pending.size === 0) detached(() => setImmediate(() => this.emitPending()));
      this.pending.add(name);
    });
  }

  private emitPending(): void {
    const names = [...this.pending];
    this.pending.clear();
    this.link?.publish(names);
    for (const name of names) this.emit(name);
  }

  private emit(name: string): void {
    if (name.startsWith('host:')) this.emitter.emit('host', name.slice('host:'.length));
    else if (name.startsWith(ALARMS)) {
      try {
        const [hostId, states] = JSON.parse(name.slice(ALARMS.length)) as [unknown, unknown];
        if (typeof hostId === 'string' && Array.isArray(states)) this.emitter.emit('alarms', hostId, states);
      } catch {
        // Not ours: ignored.
      }
    } else this.emitter.emit(name);
  }

  /**
   * A host's alarm states, as its agent reported them to this replica: told to the other replicas (the
   * scheduling one judges alarms). Only with several replicas; a name carrying the states, not a hint.
   */
  alarmStates(hostId: string, states: readonly AlarmStateView[]): void {
    this.link?.publish([`${ALARMS}${JSON.stringify([hostId, states])}`]);
  }

  /** `fn(hostId, states)` for alarm states reported to another replica. */
  onRemoteAlarmStates(fn: (hostId: string, states: AlarmStateView[]) => void): () => void {
    return this.on('alarms', fn as (...a: unknown[]) => void);
  }

  /** Joins the other replicas: local changes are published on `link`, theirs are emitted here. */
  connect(link: ChangeLink): void {
    this.disconnect();
    this.link = link;
    this.unlink.push(link.onNames(names => {
      if (this.remote.size === 0) {
        detached(() => setImmediate(() => {
          const batch = [...this.remote];
          this.remote.clear();
          for (const name of batch) this.emit(name);
        }));
      }
      for (const name of names) this.remote.add(name);
    }));
    this.unlink.push(link.onResync(() => this.resync()));
  }

  disconnect(): void {
    for (const off of this.unlink.splice(0)) off();
    this.link = undefined;
  }

  /** Wakes every watcher once, and asks for every connected host's commands again (changes may have been missed). */
  resync(): void {
    for (const name of this.emitter.eventNames()) {
      if (typeof name === 'string' && name !== 'host' && name !== 'alarms') this.emitter.emit(name);
    }
    this.emitter.emit('resync');
  }

  /**
   * A host has a command waiting (a deploy, a cancel) that the replica holding its agent's stream must send.
   * Published to every replica; each one's `onHostCommand` listener sends it if the host is connected there.
   */
  hostCommand(hostId: string): void {
    this.later(`host:${hostId}`);
  }

  /** `fn(hostId)` on `hostCommand` from any replica; `fn(undefined)` after a resync: check every connected host. */
  onHostCommand(fn: (hostId: string | undefined) => void): () => void {
    const offHost = this.on('host', fn as (...a: unknown[]) => void);
    const offResync = this.on('resync', () => fn(undefined));
    return () => { offHost(); offResync(); };
  }

  onEvents(fn: () => void): () => void {
    return this.on('events', fn);
  }

  /** The audit log grew: wakes `ferry audit --follow` streams. */
  audit(): void {
    this.whenVisible(() => {
      this.link?.publish(['audit']);
      detached(() => this.emitter.emit('audit'));
    });
  }

  onAudit(fn: () => void): () => void {
    return this.on('audit', fn);
  }

  logs(deploymentId: string): void {
    this.whenVisible(() => {
      this.link?.publish([`logs:${deploymentId}`]);
      detached(() => this.emitter.emit(`logs:${deploymentId}`));
    });
  }

  /** Subscribes; returns the unsubscribe function. */
  onDeployment(id: string, fn: () => void): () => void {
    return this.on(`deployment:${id}`, fn);
  }

  onLogs(deploymentId: string, fn: () => void): () => void {
    return this.on(`logs:${deploymentId}`, fn);
  }

  private on(name: string, fn: (...args: unknown[]) => void): () => void {
    this.emitter.on(name, fn);
    return () => this.emitter.off(name, fn);
  }
}
