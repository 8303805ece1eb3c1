/**
 * A monotonic clock that stands still while this process's event loop is stalled, for judging
 * agents (liveness, command-ack deadlines): a host is lost when the coordinator failed to
 * *receive* its heartbeats for the timeout, not when the coordinator failed to *process* them in
 * time. A heartbeat that waited in a socket buffer while a long pass ran (a burst of thousands of
 * results, a slow disk, a starved CPU) must not count as silence.
 *
 * A timer ticks every `tickMs`; between two ticks the clock advances by the real time elapsed, but
 * by at most `tickMs + slackMs`: what is beyond that was the loop being behind (its delay), and is
 * not counted. Reads between ticks are capped the same way, so a synchronous pass of any length
 * moves the clock by at most one tick. Never goes backwards.
 */
export class LagClock {
  private realAtTick: number;
  private atTick: number;
  private stalled = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly real: () => number = () => performance.now(),
    private readonly tickMs = 50,
    private readonly slackMs = 50,
  ) {
    this.realAtTick = real();
    this.atTick = this.realAtTick;
  }

  /** Starts ticking (unref'd: it keeps no process alive). */
  start(): this {
    this.timer ??= setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The timer's tick (called directly by tests). */
  tick(): void {
    const r = this.real();
    const elapsed = r - this.realAtTick;
    const counted = Math.min(elapsed, this.cap());
    this.stalled += elapsed - counted;
    this.atTick += counted;
    this.realAtTick = r;
  }

  now = (): number => this.atTick + Math.min(this.real() - this.realAtTick, this.cap());

  /** Real time not counted so far: how long the event loop was behind (ms). */
  stalledMs(): number {
    return this.stalled + Math.max(0, this.real() - this.realAtTick - this.cap());
  }

  private cap(): number {
    return this.tickMs + this.slackMs;
  }
}
