import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DEPLOYMENT_STATUSES, HOST_DEPLOYMENT_STATUSES } from './domain/status.js';
import type { LifecycleEventRecord } from './domain/types.js';
import type { StatusCount } from './store/store.js';

/**
 * The coordinator's Prometheus metrics, on a registry of its own (no global one, no singletons:
 * docs/design/style.md §16). Counts of deployments and agents are read when scraped (`source`);
 * the histograms and counters are fed by the services as agents report. Node's default process metrics
 * (`process_*`, `nodejs_*`) are included unprefixed, so stock dashboards work. Labels never carry secrets: statuses,
 * error codes, lifecycle event names and agent states only (no host ids: bounded cardinality).
 */
export const AGENT_STATES = ['connected', 'reconnecting', 'lost'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** What the gauges read at scrape time: the store and the registry of agent streams. */
export interface CoordinatorMetricsSource {
  deploymentsByStatus(): Promise<StatusCount<string>[]>;
  hostDeploymentsByStatus(): Promise<(StatusCount<string> & { errorCode: string })[]>;
  agentsByState(): Promise<Record<AgentState, number>>;
  /** Revision send buffers in use (of the pool every download shares) and the pool's size. */
  sendBuffers(): { inUse: number; capacity: number };
}

/** Dispatch → first event: from a fraction of a second to a queued host waiting minutes. */
const DISPATCH_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Hook scripts: from instant no-ops to CodeDeploy's one-hour timeout. */
const HOOK_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Commands sent and not yet started that are remembered (an agent that never reports is not a leak). */
const MAX_PENDING = 10_000;

export class CoordinatorMetrics {
  readonly registry = new Registry();
  private readonly dispatchLatency: Histogram<never>;
  private readonly hookDuration: Histogram<'event' | 'status'>;
  private readonly bytesServed: Counter<never>;
  /** `${deploymentId}\0${hostId}` → when its command was sent (ms). */
  private readonly sentAt = new Map<string, number>();

  constructor(source: CoordinatorMetricsSource, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'ferry_deployments', help: 'Deployments by status.', labelNames: ['status'], registers,
      async collect() {
        const counts = await source.deploymentsByStatus();
        this.reset();
        for (const s of DEPLOYMENT_STATUSES) this.set({ status: s }, 0);
        for (const c of counts) this.set({ status: c.status }, c.count);
      },
    });
    new Gauge({
      name: 'ferry_host_deployments', help: 'Host deployments by status and error code (empty: none).',
      labelNames: ['status', 'error_code'], registers,
      async collect() {
        const counts = await source.hostDeploymentsByStatus();
        this.reset();
        for (const s of HOST_DEPLOYMENT_STATUSES) this.set({ status: s, error_code: '' }, 0);
        for (const c of counts) this.set({ status: c.status, error_code: c.errorCode }, c.count);
      },
    });
    new Gauge({
      name: 'ferry_agents', help: 'Known agents by state: connected (stream open), reconnecting (silent less than the agent timeout), lost.',
      labelNames: ['state'], registers,
      async collect() {
        const by = await source.agentsByState();
        for (const s of AGENT_STATES) this.set({ state: s }, by[s]);
      },
    });
    new Gauge({
      name: 'ferry_revision_send_buffers', help: 'Revision send buffers (1 MiB each) shared by every download: in use, and the pool\'s capacity. In use at capacity for long: downloads are waiting their turn.',
      labelNames: ['state'], registers,
      collect() {
        const b = source.sendBuffers();
        this.set({ state: 'in_use' }, b.inUse);
        this.set({ state: 'capacity' }, b.capacity);
      },
    });
    this.dispatchLatency = new Histogram({
      name: 'ferry_dispatch_latency_seconds', help: 'From a deploy command sent to an agent until it reports its first lifecycle event started.',
      buckets: DISPATCH_BUCKETS, registers,
    });
    this.hookDuration = new Histogram({
      name: 'ferry_hook_duration_seconds', help: 'Lifecycle event durations reported by the agents, by event and outcome.',
      labelNames: ['event', 'status'], buckets: HOOK_BUCKETS, registers,
    });
    this.bytesServed = new Counter({
      name: 'ferry_revision_bytes_served_total', help: 'Revision bytes sent to agents by FetchRevision.', registers,
    });
  }

  /** A deploy command went out on a host's stream; a re-send keeps the first time. */
  commandSent(deploymentId: string, hostId: string, atMs: number): void {
    const key = `${deploymentId}\0${hostId}`;
    if (this.sentAt.has(key)) return;
    if (this.sentAt.size >= MAX_PENDING) this.sentAt.delete(this.sentAt.keys().next().value!);
    this.sentAt.set(key, atMs);
  }

  /**
   * A lifecycle event record an agent reported, new or changed. `wasFinished`: the same event was
   * already recorded finished (the result repeats live updates): its duration is not counted twice.
   */
  eventReported(record: LifecycleEventRecord, nowMs: number, wasFinished: boolean): void {
    const key = `${record.deploymentId}\0${record.hostId}`;
    const sent = this.sentAt.get(key);
    if (sent !== undefined && record.status !== 'Pending' && record.status !== 'Skipped') {
      this.sentAt.delete(key);
      this.dispatchLatency.observe(Math.max(0, nowMs - sent) / 1000);
    }
    if (wasFinished || (record.status !== 'Succeeded' && record.status !== 'Failed') || record.durationMs === undefined) return;
    this.hookDuration.observe({ event: record.event, status: record.status }, record.durationMs / 1000);
  }

  /** The host's deployment is over: a command that never started is forgotten. */
  hostFinished(deploymentId: string, hostId: string): void {
    this.sentAt.delete(`${deploymentId}\0${hostId}`);
  }

  revisionBytesServed(bytes: number): void {
    this.bytesServed.inc(bytes);
  }
}
