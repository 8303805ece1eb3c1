import { EventEmitter } from 'node:events';

/**
 * In-process change notifications, so watchers (WatchDeployment, StreamLogs) wake up on the
 * change instead of polling. The store stays the source of truth: listeners re-read it.
 */
export class Changes {
  private readonly emitter = new EventEmitter();

  constructor() {
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

  private later(name: string): void {
    if (this.pending.size === 0) setImmediate(() => this.emitPending());
    this.pending.add(name);
  }

  private emitPending(): void {
    const names = [...this.pending];
    this.pending.clear();
    for (const name of names) this.emitter.emit(name);
  }

  onEvents(fn: () => void): () => void {
    return this.on('events', fn);
  }

  /** The audit log grew: wakes `ferry audit --follow` streams. */
  audit(): void {
    this.emitter.emit('audit');
  }

  onAudit(fn: () => void): () => void {
    return this.on('audit', fn);
  }

  logs(deploymentId: string): void {
    this.emitter.emit(`logs:${deploymentId}`);
  }

  /** Subscribes; returns the unsubscribe function. */
  onDeployment(id: string, fn: () => void): () => void {
    return this.on(`deployment:${id}`, fn);
  }

  onLogs(deploymentId: string, fn: () => void): () => void {
    return this.on(`logs:${deploymentId}`, fn);
  }

  private on(name: string, fn: () => void): () => void {
    this.emitter.on(name, fn);
    return () => this.emitter.off(name, fn);
  }
}
