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

  /** When the host's agent was last heard from since this coordinator started (monotonic), if ever. */
  lastHeard(hostId: string): number | undefined {
    return this.heard.get(hostId);
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

  get(hostId: string): AgentSession | undefined {
    return this.sessions.get(hostId);
  }

  isConnected(hostId: string): boolean {
    return this.sessions.has(hostId);
  }

  connectedHostIds(): string[] {
    return [...this.sessions.keys()];
  }

  closeAll(reason: string): void {
    for (const s of [...this.sessions.values()]) s.close(reason);
    this.sessions.clear();
  }
}
