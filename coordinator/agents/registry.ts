import type { CoordinatorMessage } from '../../proto/gen/ferry/v1/CoordinatorMessage.js';

/** One connected agent: the open Connect stream of a host. */
export interface AgentSession {
  readonly hostId: string;
  readonly connectedAt: number;
  /** Queues a message on the stream; false when the stream is gone. */
  send(message: CoordinatorMessage): boolean;
  close(reason: string): void;
  /** The agent answers each deploy command with a CommandAck (its Register said so). */
  acksCommands?: boolean;
  /**
   * The stream is held by another coordinator replica (docs/high-availability.md): `send` asks that replica,
   * over the change bus, to send the host what the store says it should run (its deploy commands in flight,
   * a cancel, its alarms); the message itself is not carried. `close` does nothing.
   */
  elsewhere?: boolean;
}

/** How a replica sees hosts whose stream another replica holds: what the store last said of them. */
interface Elsewhere {
  /** Asks the replica holding `hostId`'s stream to send it what it should run (Changes.hostCommand). */
  relay(hostId: string): void;
  /** Wall-clock ms now, and monotonic ms now (to turn a stored last-seen time into a monotonic one). */
  wall(): number;
  monotonic(): number;
  /** Added to a stored last-seen time now: the holder writes heartbeat times every interval (services/agents.ts flushLastSeen). */
  flushLagMs(): number;
  /** No remote host is older than this (monotonic) when judged: the restart grace of this replica. */
  floor: number;
  /** By host id: connected per the store, and its last-seen time (wall ms). */
  hosts: Map<string, { connected: boolean; lastSeen: number }>;
  /**
   * Added for a host whose stream is on a replica that is gone (its presence lapsed: dead, paused, cut
   * off): its agent needs up to its keepalive timeout to notice and move, and is not silent meanwhile.
   */
  replicaGoneGraceMs: number;
}

/** A deploy command written to an agent that acknowledges commands, not acknowledged yet. */
export interface UnackedCommand {
  hostId: string;
  deploymentId: string;
  /** When it was last written, on the monotonic clock. */
  sentAt: number;
  /** How many times it was written. */
  sends: number;
}

/** The agents connected to this coordinator right now, by host id. */
export class AgentRegistry {
  private readonly sessions = new Map<string, AgentSession>();
  /** When each agent was last heard from (any message), on the monotonic clock; kept after a disconnect. */
  private readonly heard = new Map<string, number>();
  /** By `<deployment id> <host id>`. */
  private readonly unacked = new Map<string, UnackedCommand>();
  /**
   * Wall-clock times (ms) of heartbeats not yet written to the store's last_seen_at: a heartbeat
   * costs a map write, and the times are written in one transaction a heartbeat interval
   * (services/agents.ts flushLastSeen), not one UPDATE per beat.
   */
  private readonly seenWall = new Map<string, number>();
  /** With several replicas: the hosts whose streams may be on another one (absent with one coordinator). */
  private elsewhere: Elsewhere | undefined;
  /** Replicated: the replica holding each host's stream, as the replicas announced it at registration. */
  private readonly streamOn = new Map<string, string>();
  /** Replicated: the replicas present now (their presence not lapsed); undefined until first known. */
  private liveReplicas: ReadonlySet<string> | undefined;

  /** Replicated: `hostId`'s agent registered on `replica`. */
  registeredOn(hostId: string, replica: string): void {
    this.streamOn.set(hostId, replica);
  }

  /** Replicated: the replicas whose presence holds now. */
  setLiveReplicas(replicas: ReadonlySet<string>): void {
    this.liveReplicas = replicas;
  }

  /**
   * Several replicas serve agents (PostgreSQL): a host without a stream here may have one on another
   * replica. `get` then answers with a stand-in session that relays, `isConnected` and `lastHeard` with
   * what the store says (refreshed by `updateElsewhere`, liveness' read of every host).
   */
  spanReplicas(options: Omit<Elsewhere, 'hosts' | 'replicaGoneGraceMs'> & { replicaGoneGraceMs?: number }): void {
    this.elsewhere = { replicaGoneGraceMs: 0, ...options, hosts: new Map() };
  }

  /** Replicated: the hosts as the store has them now (connected flag and last-seen time). */
  updateElsewhere(hosts: Iterable<{ id: string; connected: boolean; lastSeenAt: string }>): void {
    if (this.elsewhere === undefined) return;
    const next = new Map<string, { connected: boolean; lastSeen: number }>();
    for (const h of hosts) if (!this.sessions.has(h.id)) next.set(h.id, { connected: h.connected, lastSeen: Date.parse(h.lastSeenAt) });
    this.elsewhere.hosts = next;
  }

  /** True when hosts' streams may be held by other replicas. */
  get replicated(): boolean {
    return this.elsewhere !== undefined;
  }

  /** The host's agent sent a heartbeat at this wall-clock time. */
  seen(hostId: string, wallMs: number): void {
    this.seenWall.set(hostId, wallMs);
  }

  /** The last heartbeat's wall-clock time not yet in the store, if any (shown over the stored one). */
  seenAt(hostId: string): number | undefined {
    return this.seenWall.get(hostId);
  }

  /** The heartbeat times to write, forgotten here. */
  takeSeen(): Map<string, number> {
    const taken = new Map(this.seenWall);
    this.seenWall.clear();
    return taken;
  }

  /** Records that the host's agent spoke (register, heartbeat, report) at `monotonicMs`. */
  markHeard(hostId: string, monotonicMs: number): void {
    this.heard.set(hostId, monotonicMs);
  }

  /**
   * When the host's agent was last heard from since this coordinator started (monotonic), if ever. Replicated,
   * a host without a stream here: its stored last-seen time (written by the replica holding its stream)
   * turned monotonic, plus that replica's write interval, and never before this replica's restart grace.
   */
  lastHeard(hostId: string): number | undefined {
    const e = this.elsewhere;
    const remote = e !== undefined && !this.sessions.has(hostId) ? e.hosts.get(hostId) : undefined;
    if (e === undefined || remote === undefined) return this.heard.get(hostId);
    const replica = this.streamOn.get(hostId);
    const replicaGone = replica !== undefined && this.liveReplicas !== undefined && !this.liveReplicas.has(replica);
    const stored = e.monotonic() - (e.wall() - remote.lastSeen) + e.flushLagMs() + (replicaGone ? e.replicaGoneGraceMs : 0);
    return Math.max(stored, e.floor, this.heard.get(hostId) ?? -Infinity);
  }

  /** Hosts last heard from in (after, upTo] (monotonic): those that fell silent past a deadline between two checks. */
  heardBetween(after: number, upTo: number): string[] {
    const ids: string[] = [];
    for (const [hostId, at] of this.heard) if (at > after && at <= upTo) ids.push(hostId);
    return ids;
  }

  /** Adds a session; an older session of the same host is closed (the agent reconnected). */
  add(session: AgentSession): void {
    const old = this.sessions.get(session.hostId);
    this.sessions.set(session.hostId, session);
    if (old && old !== session) old.close('replaced by a newer connection from the same host');
  }

  /** Removes the session if it is still the current one; true when it was. */
  remove(session: AgentSession): boolean {
    if (this.sessions.get(session.hostId) !== session) return false;
    this.sessions.delete(session.hostId);
    // Its commands are sent again when it registers again (services/dispatch.ts).
    for (const [key, c] of this.unacked) if (c.hostId === session.hostId) this.unacked.delete(key);
    return true;
  }

  /** A deploy command was written to the host's agent, which acknowledges commands. */
  commandSent(hostId: string, deploymentId: string, monotonicMs: number): void {
    const key = `${deploymentId} ${hostId}`;
    const sends = (this.unacked.get(key)?.sends ?? 0) + 1;
    this.unacked.set(key, { hostId, deploymentId, sentAt: monotonicMs, sends });
  }

  /** The agent acknowledged the command (or reported on the deployment, which says as much). */
  commandAcked(hostId: string, deploymentId: string): void {
    this.unacked.delete(`${deploymentId} ${hostId}`);
  }

  unackedCommands(): UnackedCommand[] {
    return [...this.unacked.values()];
  }

  /** The host's session: its stream here, or (replicated) a stand-in relaying to the replica that holds it. */
  get(hostId: string): AgentSession | undefined {
    return this.sessions.get(hostId) ?? this.relayTo(hostId);
  }

  /** The host's stream on this replica, if it is here. */
  local(hostId: string): AgentSession | undefined {
    return this.sessions.get(hostId);
  }

  private relayTo(hostId: string): AgentSession | undefined {
    const e = this.elsewhere;
    if (e?.hosts.get(hostId)?.connected !== true) return undefined;
    return {
      hostId, connectedAt: 0, elsewhere: true,
      send: () => {
        e.relay(hostId);
        return true;
      },
      close: () => undefined,
    };
  }

  /** Connected here, or (replicated) to another replica as the store says. */
  isConnected(hostId: string): boolean {
    return this.sessions.has(hostId) || this.elsewhere?.hosts.get(hostId)?.connected === true;
  }

  /** Hosts connected here, and (replicated) to other replicas. */
  connectedHostIds(): string[] {
    const ids = [...this.sessions.keys()];
    for (const [id, h] of this.elsewhere?.hosts ?? []) if (h.connected) ids.push(id);
    return ids;
  }

  /** Hosts heard from since the start, here or (replicated) through the store: what the heartbeat pace is set for. */
  fleetSize(): number {
    return this.heard.size + (this.elsewhere?.hosts.size ?? 0);
  }

  /** Hosts whose streams are on this replica. */
  localHostIds(): string[] {
    return [...this.sessions.keys()];
  }

  closeAll(reason: string): void {
    for (const s of [...this.sessions.values()]) s.close(reason);
    this.sessions.clear();
  }
}
