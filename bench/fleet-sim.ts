import * as grpc from '@grpc/grpc-js';
import { KEEPALIVE_OPTIONS, loadFerryProto } from '../proto/load.js';
import { LIFECYCLE_EVENTS, PHASE_SOURCE } from '../common/lifecycle/events.js';
import type { AgentMessage } from '../proto/gen/ferry/v1/AgentMessage.js';
import type { AgentServiceClient } from '../proto/gen/ferry/v1/AgentService.js';
import type { CoordinatorMessage__Output } from '../proto/gen/ferry/v1/CoordinatorMessage.js';
import type { DeployCommand__Output } from '../proto/gen/ferry/v1/DeployCommand.js';
import type { EventUpdate } from '../proto/gen/ferry/v1/EventUpdate.js';
import type { HostResult } from '../proto/gen/ferry/v1/HostResult.js';

/**
 * A simulated fleet: one process speaking the real AgentService protocol (proto/ferry/v1/agent.proto)
 * for many hosts over loopback — one Connect stream per host, multiplexed over a few channels. It
 * stands in for ferry-agent without its code paths (no hooks, no disk): Register (acks_commands),
 * heartbeats at the coordinator's interval, a CommandAck for every DeployCommand, every lifecycle
 * event reported Succeeded at once (the `previous` phases Skipped on a host's first install of a
 * group), then the HostResult, re-sent until a ResultAck answers it. DownloadBundle fetches a
 * revision once per simulator (one shared cache for the fleet), so FetchRevision is exercised.
 * Used by `npm run bench -- fleet` (bench/fleet.ts) and test/e2e/fleet-sim.test.ts.
 */
export interface FleetSimOptions {
  address: string;
  agents: number;
  /** gRPC channels (TCP connections) the streams are spread over. */
  channels?: number;
  /** Each channel's gRPC keepalive ping interval (default the agent's, proto/load.ts KEEPALIVE_OPTIONS). */
  keepaliveMs?: number;
  tags?: Record<string, string>;
  /** Host ids are `<prefix><n>`. */
  prefix?: string;
  /** Streams opened per millisecond-ish batch while registering (setImmediate between batches). */
  connectBatch?: number;
}

export interface FleetSimStats {
  agents: number;
  registered: number;
  /** Streams that ended or failed while the simulator was running (not closed by it). */
  drops: number;
  /** Registers after the first on the same host (after a drop). */
  reregistrations: number;
  commands: number;
  /** Commands for a deployment the host had already reported (the coordinator re-sent them). */
  repeatedCommands: number;
  results: number;
  resultAcks: number;
  heartbeats: number;
  /** The longest time between two heartbeats of one host while its stream was up (ms), not across an interval change: the interval plus the simulator's own lag. */
  maxHeartbeatGapMs: number;
  fetches: number;
  /** Pace messages received (the coordinator stretched the heartbeat interval). */
  paced: number;
}

interface SimHost {
  id: string;
  channel: number;
  call?: grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output>;
  registered: boolean;
  everRegistered: boolean;
  timer?: NodeJS.Timeout;
  lastBeat: number;
  /** Results sent and not acknowledged yet, by deployment id. */
  unacked: Map<string, HostResult>;
  /** Deployments this host finished (their result acked or not). */
  done: Set<string>;
  /** Groups this host installed a revision of (later deployments run the `previous` phases). */
  installed: Set<string>;
}

export class FleetSim {
  private readonly clients: AgentServiceClient[] = [];
  private readonly hosts: SimHost[] = [];
  private closing = false;
  private intervalMs = 5000;
  private readonly fetched = new Map<string, Promise<void>>();
  private readonly waiters: (() => void)[] = [];
  readonly stats: FleetSimStats;

  constructor(private readonly o: FleetSimOptions) {
    const proto = loadFerryProto();
    const channels = Math.max(1, Math.min(o.channels ?? 8, o.agents));
    for (let i = 0; i < channels; i++) {
      this.clients.push(new proto.ferry.v1.AgentService(o.address, grpc.credentials.createInsecure(), {
        ...KEEPALIVE_OPTIONS, ...(o.keepaliveMs !== undefined && { 'grpc.keepalive_time_ms': o.keepaliveMs }), 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': 8 * 1024 * 1024,
      }));
    }
    const prefix = o.prefix ?? 'sim-';
    for (let i = 0; i < o.agents; i++) {
      this.hosts.push({ id: `${prefix}${i}`, channel: i % channels, registered: false, everRegistered: false, lastBeat: 0, unacked: new Map(), done: new Set(), installed: new Set() });
    }
    this.stats = { agents: o.agents, registered: 0, drops: 0, reregistrations: 0, commands: 0, repeatedCommands: 0, results: 0, resultAcks: 0, heartbeats: 0, maxHeartbeatGapMs: 0, fetches: 0, paced: 0 };
  }

  hostIds(): string[] {
    return this.hosts.map(h => h.id);
  }

  /** Opens every host's stream; resolves when all are registered. */
  async start(): Promise<void> {
    const batch = this.o.connectBatch ?? 200;
    for (let i = 0; i < this.hosts.length; i++) {
      this.connect(this.hosts[i]!);
      if (i % batch === batch - 1) await new Promise(r => setImmediate(r));
    }
    await this.until(() => this.stats.registered >= this.hosts.length);
  }

  /** Resolves when `fn` holds (checked after every registration and result ack). */
  until(fn: () => boolean): Promise<void> {
    if (fn()) return Promise.resolve();
    return new Promise(resolve => {
      const check = () => (fn() ? resolve() : this.waiters.push(check));
      this.waiters.push(check);
    });
  }

  private changed(): void {
    const w = this.waiters.splice(0);
    for (const f of w) f();
  }

  close(): void {
    this.closing = true;
    for (const h of this.hosts) {
      if (h.timer) clearInterval(h.timer);
      h.call?.end();
      h.call?.cancel();
    }
    for (const c of this.clients) c.close();
  }

  private connect(h: SimHost): void {
    if (this.closing) return;
    const call = this.clients[h.channel]!.connect();
    h.call = call;
    call.on('data', (m: CoordinatorMessage__Output) => this.onMessage(h, call, m));
    let ended = false;
    const gone = () => {
      if (ended) return;
      ended = true;
      if (h.timer) clearInterval(h.timer);
      h.timer = undefined;
      if (h.registered) {
        h.registered = false;
        this.stats.registered -= 1;
      }
      if (this.closing || h.call !== call) return;
      this.stats.drops += 1;
      setTimeout(() => this.connect(h), 500 + Math.random() * 1000).unref();
    };
    call.on('error', gone);
    call.on('end', gone);
    call.on('close', gone);
    call.write({
      register: {
        hostId: h.id, hostname: h.id, tags: this.o.tags ?? {}, zone: '', agentVersion: 'fleet-sim',
        facts: { os: 'linux', kernel: 'sim', arch: process.arch, cpus: 2, memoryBytes: 4 << 30 },
        runningDeploymentId: '', acksCommands: true,
      },
    });
  }

  private send(h: SimHost, call: grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output>, m: AgentMessage): void {
    if (h.call !== call || call.destroyed || call.writableEnded) return;
    call.write(m);
  }

  private onMessage(h: SimHost, call: grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output>, m: CoordinatorMessage__Output): void {
    if (m.registered) {
      if (!h.registered) {
        h.registered = true;
        this.stats.registered += 1;
        if (h.everRegistered) this.stats.reregistrations += 1;
        h.everRegistered = true;
      }
      this.intervalMs = m.registered.heartbeatIntervalMs || this.intervalMs;
      h.lastBeat = performance.now();
      this.beatEvery(h, call, this.intervalMs);
      for (const r of h.unacked.values()) this.send(h, call, { result: r });
      this.changed();
    } else if (m.deploy) {
      this.stats.commands += 1;
      this.send(h, call, { commandAck: { deploymentId: m.deploy.deploymentId } });
      if (h.done.has(m.deploy.deploymentId)) {
        // A finished deployment's command again: its result again (what the agent's outbox does).
        this.stats.repeatedCommands += 1;
        const r = h.unacked.get(m.deploy.deploymentId);
        if (r) this.send(h, call, { result: r });
        return;
      }
      void this.run(h, call, m.deploy);
    } else if (m.pace) {
      // The coordinator stretched the interval for the fleet (what agent/link/session.ts does): the gap
      // across the change is not the simulator's lag, so it is not measured.
      this.intervalMs = m.pace.heartbeatIntervalMs || this.intervalMs;
      this.stats.paced += 1;
      h.lastBeat = 0;
      this.beatEvery(h, call, this.intervalMs);
    } else if (m.ack) {
      if (h.unacked.delete(m.ack.deploymentId)) this.stats.resultAcks += 1;
      this.changed();
    }
    // cancel: every deployment finishes at once here, so there is nothing to cancel; set_alarms: none are evaluated.
  }

  /** Beats every `intervalMs`, the first after a random part of it (spread, as independent hosts would be). */
  private beatEvery(h: SimHost, call: grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output>, intervalMs: number): void {
    if (h.timer) clearInterval(h.timer);
    h.timer = setTimeout(() => {
      this.beat(h, call);
      h.timer = setInterval(() => this.beat(h, call), intervalMs);
    }, Math.random() * intervalMs);
  }

  private beat(h: SimHost, call: grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output>): void {
    const t = performance.now();
    if (h.lastBeat > 0) this.stats.maxHeartbeatGapMs = Math.max(this.stats.maxHeartbeatGapMs, t - h.lastBeat);
    h.lastBeat = t;
    this.stats.heartbeats += 1;
    this.send(h, call, { heartbeat: { sentAtMs: Date.now(), runningDeploymentId: '', alarms: [] } });
  }

  private fetch(digest: string): Promise<void> {
    let p = this.fetched.get(digest);
    if (!p) {
      this.stats.fetches += 1;
      p = new Promise<void>((resolve, reject) => {
        const s = this.clients[0]!.fetchRevision({ digest, offset: 0, hostId: this.hosts[0]!.id });
        s.on('data', () => undefined);
        s.on('end', () => resolve());
        s.on('error', reject);
      });
      this.fetched.set(digest, p);
    }
    return p;
  }

  private async run(h: SimHost, call: grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output>, c: DeployCommand__Output): Promise<void> {
    h.done.add(c.deploymentId);
    let failure: string | undefined;
    try {
      await this.fetch(c.revisionDigest);
    } catch (err) {
      failure = `DownloadBundle: ${err instanceof Error ? err.message : String(err)}`;
    }
    const at = new Date().toISOString();
    const first = !h.installed.has(c.groupId);
    const events: EventUpdate[] = [];
    for (const event of LIFECYCLE_EVENTS) {
      if (c.events.length > 0 && !c.events.includes(event) && PHASE_SOURCE[event] !== 'agent') continue;
      const skipped = PHASE_SOURCE[event] === 'previous' && first;
      const failed = event === 'DownloadBundle' && failure !== undefined;
      const e: EventUpdate = {
        deploymentId: c.deploymentId, event, status: skipped ? 'Skipped' : failed ? 'Failed' : 'Succeeded',
        errorCode: failed ? 'UnknownError' : '', exitCode: -1, message: skipped ? 'first deployment of this group on this host: no previous revision' : failure ?? '',
        startedAt: at, endedAt: at, durationMs: 0, ignored: false,
      };
      events.push(e);
      this.send(h, call, { event: e });
      if (failed) break;
    }
    if (!failure) h.installed.add(c.groupId);
    const result: HostResult = {
      deploymentId: c.deploymentId, status: failure ? 'Failed' : 'Succeeded', errorEvent: failure ? 'DownloadBundle' : '',
      errorCode: failure ? 'UnknownError' : '', errorMessage: failure ?? '', events, revisionDigest: c.revisionDigest,
    };
    h.unacked.set(c.deploymentId, result);
    this.stats.results += 1;
    // The stream may have been replaced while the revision was fetched: the current one carries it.
    if (h.call) this.send(h, h.call, { result });
  }
}
