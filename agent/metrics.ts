import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HostResult__Output as HostResult } from '../proto/gen/ferry/v1/HostResult.js';
import { ALARM_STATES, type AlarmStatus } from '../common/health/evaluate.js';

/**
 * The agent's Prometheus metrics, on a registry of its own (no global one), served by
 * `ferry-agent start --metrics-listen HOST:PORT`. The connection and alarm gauges are read when
 * scraped (`source`); the hook histogram and the counters are fed by the worker and the revision
 * cache. Labels: lifecycle event names, outcomes, alarm names and states (never secrets).
 */
export interface AgentMetricsSource {
  /** Registered with the coordinator right now. */
  connected(): boolean;
  /** The health alarms' current states. */
  alarms(): readonly AlarmStatus[];
}

/** Hook scripts: from instant no-ops to CodeDeploy's one-hour timeout. */
const HOOK_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly hookDuration: Histogram<'event' | 'status'>;
  private readonly downloadBytes: Counter<never>;
  private readonly transfers: Counter<'transport'>;
  private readonly deployments: Counter<'status'>;

  constructor(source: AgentMetricsSource, opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'ferry_agent_connected', help: '1 while the agent is registered with the coordinator, else 0.', registers,
      collect() {
        this.set(source.connected() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ferry_agent_alarms', help: 'Health alarms set by the coordinator: 1 for the state each alarm is in, 0 for the others.',
      labelNames: ['alarm', 'state'], registers,
      collect() {
        this.reset();
        for (const a of source.alarms()) for (const s of ALARM_STATES) this.set({ alarm: a.name, state: s }, a.state === s ? 1 : 0);
      },
    });
    this.hookDuration = new Histogram({
      name: 'ferry_agent_hook_duration_seconds', help: 'Lifecycle event durations on this host, by event and outcome.',
      labelNames: ['event', 'status'], buckets: HOOK_BUCKETS, registers,
    });
    this.downloadBytes = new Counter({
      name: 'ferry_agent_download_bytes_total', help: 'Revision bytes downloaded from the coordinator (resumed transfers count once).', registers,
    });
    this.transfers = new Counter({
      name: 'ferry_agent_revision_transfers_total',
      help: 'Revision transfers started, by transport: http (GET /v1/revisions) or grpc (FetchRevision, the fallback when the coordinator serves no HTTP downloads).',
      labelNames: ['transport'], registers,
    });
    this.deployments = new Counter({
      name: 'ferry_agent_deployments_total', help: 'Host deployments this agent finished and reported, by status.',
      labelNames: ['status'], registers,
    });
  }

  /** A revision transfer (or its resumption) started over `transport`. */
  transferStarted(transport: 'http' | 'grpc'): void {
    this.transfers.inc({ transport });
  }

  /** Bytes of a revision received and written to the cache. */
  downloaded(bytes: number): void {
    this.downloadBytes.inc(bytes);
  }

  /** A host deployment's result, as put in the outbox: its status and every finished event's duration. */
  deploymentReported(result: HostResult): void {
    this.deployments.inc({ status: result.status || 'Failed' });
    for (const e of result.events) {
      if (e.status !== 'Succeeded' && e.status !== 'Failed') continue;
      this.hookDuration.observe({ event: e.event, status: e.status }, Number(e.durationMs) / 1000);
    }
  }
}
