import type { CoordinatorMessage } from '../../proto/gen/ferry/v1/CoordinatorMessage.js';

/** One connected agent: the open Connect stream of a host. */
export interface AgentSession {
  readonly hostId: string;
  readonly connectedAt: number;
  /** Queues a message on the stream; false when the stream is gone. */
  send(message: CoordinatorMessage): boolean;
  close(reason: string): void;
}

/** The agents connected to this coordinator right now, by host id. */
export class AgentRegistry {
  private readonly sessions = new Map<string, AgentSession>();
  /** When each agent was last heard from (any message), on the monotonic clock; kept after a disconnect. */
  private readonly heard = new Map<string, number>();

  /** Records that the host's agent spoke (register, heartbeat, report) at `monotonicMs`. */
  markHeard(hostId: string, monotonicMs: number): void {
    this.heard.set(hostId, monotonicMs);
  }

  /** When the host's agent was last heard from since this coordinator started (monotonic), if ever. */
  lastHeard(hostId: string): number | undefined {
    return this.heard.get(hostId);
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
    return true;
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
