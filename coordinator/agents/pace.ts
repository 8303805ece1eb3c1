/**
 * The heartbeat pace: how often agents beat, and how long a silent one has before it is lost,
 * stretched with the fleet so that all of its heartbeats together stay under a rate (Nomad's
 * `max_heartbeats_per_second`, Consul's scaled TTLs). Each heartbeat costs the coordinator a gRPC
 * message (HTTP/2 frame, decode, a promise or two): at 10,000 agents beating every 5 s that is
 * 2,000 a second and ~14 % of one core, never quiet. At the default 250 a second the interval is
 * the configured one up to 1,250 hosts and grows in whole steps of it past that: 10,000 hosts beat
 * every 40 s and are lost after 120 s of silence (a closed stream is still seen at once; a
 * partition also by the transport's keepalive, ~30-40 s). Measured at 10,000 simulated hosts
 * (bench/README.md): 500 a second kept the coordinator at 5.9-7.0 % of one core when idle and after
 * a verdict, 250 at 4.0-4.2 %; Nomad's default is 50.
 *
 * It only grows while the coordinator runs: an agent told a longer interval must never be judged
 * by a shorter timeout, and agents not yet told (or too old to understand a Pace message) beat
 * faster than they need to, which is safe. A restart starts from the stored fleet again.
 */
export interface PaceSettings {
  /** The configured interval (--heartbeat-interval): the shortest. */
  intervalMs: number;
  /** The configured timeout (--agent-timeout): stretched in the same ratio as the interval. */
  timeoutMs: number;
  /** Heartbeats a second the whole fleet may send at most (--max-heartbeat-rate); 0: no limit. */
  maxPerSecond: number;
}

export class HeartbeatPace {
  private steps = 1;

  constructor(private readonly s: PaceSettings) {}

  /** The interval agents are told now. */
  get intervalMs(): number {
    return this.s.intervalMs * this.steps;
  }

  /** Silence after which an agent is lost now. */
  get timeoutMs(): number {
    return this.s.timeoutMs * this.steps;
  }

  /**
   * The fleet has `hosts` hosts: the interval becomes the smallest whole multiple of the configured
   * one that keeps them under the rate, if that is longer than now. True when it grew (the
   * connected agents are then told: services/pace.ts).
   */
  observe(hosts: number): boolean {
    if (this.s.maxPerSecond <= 0) return false;
    const needed = Math.max(1, Math.ceil((hosts * 1000) / (this.s.maxPerSecond * this.s.intervalMs)));
    if (needed <= this.steps) return false;
    this.steps = needed;
    return true;
  }
}
