import * as grpc from '@grpc/grpc-js';
import type { AgentMessage } from '../../proto/gen/ferry/v1/AgentMessage.js';
import type { AgentServiceClient } from '../../proto/gen/ferry/v1/AgentService.js';
import type { AlarmState } from '../../proto/gen/ferry/v1/AlarmState.js';
import type { CancelCommand__Output as CancelCommand } from '../../proto/gen/ferry/v1/CancelCommand.js';
import type { CoordinatorMessage__Output as CoordinatorMessage } from '../../proto/gen/ferry/v1/CoordinatorMessage.js';
import type { DeployCommand__Output as DeployCommand } from '../../proto/gen/ferry/v1/DeployCommand.js';
import type { Register } from '../../proto/gen/ferry/v1/Register.js';
import type { SetAlarms__Output as SetAlarms } from '../../proto/gen/ferry/v1/SetAlarms.js';
import type { UpgradeCommand__Output as UpgradeCommand } from '../../proto/gen/ferry/v1/UpgradeCommand.js';
import { describeError } from '../../common/errors.js';
import type { Clock } from '../lifecycle/types.js';
import type { Logger } from '../log.js';
import type { Endpoints } from './endpoints.js';
import { type BackoffPolicy, RECONNECT_BACKOFF, REFUSED_BACKOFF, backoffDelay, refusedDelay, sleep } from './backoff.js';
import { agentClient } from './transport.js';

export interface SessionHandlers {
  /** After every (re)registration, once the queued messages went out: re-send the outbox. */
  registered(): void;
  deploy(command: DeployCommand): void;
  cancel(command: CancelCommand): void;
  ack(deploymentId: string): void;
  /** The whole current list of health alarms for this host. */
  setAlarms(message: SetAlarms): void;
  /** Replace this agent's binary (`ferry hosts upgrade`); absent: ignored. */
  upgrade?(command: UpgradeCommand): void;
}

export interface SessionOptions {
  /** The coordinator replicas; a failed or ended connection moves to the next (endpoints.ts). */
  endpoints: Endpoints;
  /** Mutual-TLS credentials, read at each connect (they change when the certificate is renewed); plaintext when absent. */
  credentials?: () => grpc.ChannelCredentials | undefined;
  /** The Register message, built at every connect (the running deployment changes). */
  register: () => Register;
  /** Used until the coordinator's Registered reply names one (> 0). */
  heartbeatIntervalMs: number;
  runningDeploymentId: () => string;
  /** The health alarms' states, carried by every heartbeat (none: an empty list). */
  alarmStates?: () => AlarmState[];
  handlers: SessionHandlers;
  logger: Logger;
  clock: Clock;
  backoff?: BackoffPolicy;
  /** Retries after the coordinator refused this host (revoked): default 1 min → 30 min. */
  refusedBackoff?: BackoffPolicy;
  /** A stream without a Registered reply by then is dropped and retried. */
  registerTimeoutMs?: number;
  /** Event and log messages kept while disconnected; the oldest go first. */
  maxQueued?: number;
  random?: () => number;
}

/** `UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:7443` (grpc-js's boilerplate trimmed). */
function statusText(code: grpc.status, details: string): string {
  const text = details.replace(/^No connection established\. Last error: (Error: )?/, '').replace(/\.? ?Resolution note: ?$/, '');
  return `${grpc.status[code] ?? code}: ${text}`;
}

type Duplex = grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage>;

/**
 * The agent's one Connect stream to the coordinator: Register first, then heartbeats; commands
 * and acks in, event updates, log batches and results out. Any end or error of the stream is
 * followed by a reconnect with exponential backoff and full jitter (0.5 s → 30 s), reset by a
 * successful registration. Messages sent while disconnected are queued (bounded) and go out after
 * the next registration, before the outbox's results.
 */
export class Session {
  private call: Duplex | undefined;
  private registered = false;
  private queue: AgentMessage[] = [];
  private dropped = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(private readonly o: SessionOptions) {
    this.log = o.logger;
  }

  start(): void {
    this.loop ??= this.run();
  }

  get isRegistered(): boolean {
    return this.registered;
  }

  /**
   * Sends at once when registered; otherwise queues the message for the next registration when
   * `queue` (results are not queued: the outbox re-sends them). True when written now.
   */
  send(msg: AgentMessage, opts: { queue: boolean } = { queue: true }): boolean {
    if (this.registered && this.call) {
      this.call.write(msg);
      return true;
    }
    if (opts.queue && !this.stopping.signal.aborted) {
      this.queue.push(msg);
      if (this.queue.length > (this.o.maxQueued ?? 10_000)) {
        this.queue.shift();
        this.dropped += 1;
      }
    }
    return false;
  }

  /**
   * Sends a heartbeat now, between the regular beats (an alarm changed state), when registered;
   * otherwise the next registration sends one.
   */
  heartbeatNow(): void {
    if (this.registered && this.call) this.call.write({ heartbeat: this.heartbeatMessage() });
  }

  private heartbeatMessage(): NonNullable<AgentMessage['heartbeat']> {
    return { sentAtMs: this.o.clock.now(), runningDeploymentId: this.o.runningDeploymentId(), alarms: this.o.alarmStates?.() ?? [] };
  }

  /** Half-closes the stream (the coordinator sees the agent leave), waits up to `graceMs`, stops. */
  async stop(graceMs = 2000): Promise<void> {
    this.stopping.abort();
    const call = this.call;
    if (call) {
      call.end();
      await Promise.race([this.loop, sleep(graceMs)]);
      call.cancel();
    }
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let refusals = 0;
    while (!this.stopping.signal.aborted) {
      const { registered, reason, code } = await this.connectOnce(attempt + refusals + 1);
      if (this.stopping.signal.aborted) break;
      if (!registered && (code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED)) {
        // Refused, not unreachable: minutes between tries, said once per try (not every 165 ms).
        refusals += 1;
        const policy = this.o.refusedBackoff ?? REFUSED_BACKOFF;
        const delayMs = refusedDelay(refusals, policy, this.o.random);
        this.log.error(`the coordinator refused this host: this host's certificate was revoked (or the host removed); enroll again (ferry-agent enroll with a new join token). Retrying in ${Math.round(delayMs / 1000)} s`, {
          address: this.o.endpoints.current(), reason, refusals, delay_ms: delayMs, retry_cap_ms: policy.capMs,
        });
        await sleep(delayMs, this.stopping.signal);
        continue;
      }
      refusals = 0;
      attempt = registered ? 1 : attempt + 1;
      // The backoff grows per round over every replica, not per try: with replicas a:, b:, c: a failed
      // connection moves on to the next one at the first round's delay, and a fleet finds the replica that
      // took over (the others not listening) within seconds instead of after a 30 s cap.
      const round = Math.ceil(attempt / this.o.endpoints.all.length);
      const delayMs = backoffDelay(round, this.o.backoff ?? RECONNECT_BACKOFF, this.o.random);
      // The next attempt goes to the next replica (the same one when there is only one).
      const from = this.o.endpoints.current();
      const to = this.o.endpoints.next();
      const fields = { address: from, reason, delay_ms: delayMs, ...(to !== from && { next_address: to }) };
      if (registered) this.log.warn('disconnected from the coordinator; reconnecting', fields);
      else this.log.warn('could not register with the coordinator; retrying', { ...fields, attempt });
      await sleep(delayMs, this.stopping.signal);
    }
    this.log.info('disconnected from the coordinator (agent stopping)');
  }

  /** One stream, from connect to its end; true when it got as far as Registered. */
  private connectOnce(attempt: number): Promise<{ registered: boolean; reason: string; code?: grpc.status }> {
    return new Promise(resolve => {
      const address = this.o.endpoints.current();
      let client: AgentServiceClient | undefined = agentClient(address, 'session', this.o.credentials?.());
      const call = client.Connect();
      this.call = call;
      let registered = false;
      let ended = false;
      const timeoutMs = this.o.registerTimeoutMs ?? 15_000;
      const timer = setTimeout(() => end(`no Registered reply within ${timeoutMs} ms`), timeoutMs);
      const end = (reason: string, code?: grpc.status) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        this.stopHeartbeat();
        this.registered = false;
        this.call = undefined;
        call.cancel();
        client?.close();
        client = undefined;
        resolve({ registered, reason, ...(code !== undefined && { code }) });
      };
      call.on('data', (m: CoordinatorMessage) => {
        if (m.msg === 'registered' && !registered) {
          registered = true;
          clearTimeout(timer);
          this.onRegistered(call, m.registered?.heartbeatIntervalMs ?? 0, m.registered?.hostId ?? '');
          this.warnIgnoredTags(m.registered?.ignoredTags ?? {});
        } else if (m.msg === 'pace') {
          this.paced(call, m.pace?.heartbeatIntervalMs ?? 0);
        } else {
          this.dispatch(m);
        }
      });
      call.on('error', (err: grpc.ServiceError) => end(statusText(err.code, err.details || err.message), err.code));
      call.on('status', (s: grpc.StatusObject) => end(s.code === grpc.status.OK ? 'the coordinator ended the stream' : statusText(s.code, s.details), s.code));
      this.log.debug('connecting to the coordinator', { address, attempt });
      call.write({ register: this.o.register() });
    });
  }

  private onRegistered(call: Duplex, replyIntervalMs: number, echoedHostId: string): void {
    this.registered = true;
    const intervalMs = replyIntervalMs > 0 ? replyIntervalMs : this.o.heartbeatIntervalMs;
    this.log.info('connected to the coordinator', { address: this.o.endpoints.current(), heartbeat_interval_ms: intervalMs });
    const sentId = this.o.register().hostId;
    if (echoedHostId && echoedHostId !== sentId) {
      this.log.warn('the coordinator registered this host under another id', { registered_as: echoedHostId });
    }
    this.beatEvery(call, intervalMs);
    const queued = this.queue;
    this.queue = [];
    if (this.dropped > 0) {
      this.log.warn('event and log messages were dropped while disconnected (queue full)', { dropped: this.dropped });
      this.dropped = 0;
    }
    for (const m of queued) call.write(m);
    if ((this.o.alarmStates?.() ?? []).length > 0) call.write({ heartbeat: this.heartbeatMessage() }); // alarm states without waiting a beat
    this.guard('registered', () => this.o.handlers.registered());
  }

  /** Tags the coordinator did not grant this host (docs/security.md, "Tags"): said once per registration. */
  private warnIgnoredTags(ignored: Record<string, string>): void {
    const text = Object.entries(ignored).map(([k, v]) => `${k}=${v}`).join(', ');
    if (text) this.log.warn(`the coordinator ignored tags not granted to this host: ${text} (an admin grants them: ferry hosts set-tags ${this.o.register().hostId} key=value …, or a join token made with --tag)`, { ignored_tags: text });
  }

  private dispatch(m: CoordinatorMessage): void {
    const h = this.o.handlers;
    if (m.msg === 'deploy' && m.deploy) this.guard('deploy', () => h.deploy(m.deploy!));
    else if (m.msg === 'cancel' && m.cancel) this.guard('cancel', () => h.cancel(m.cancel!));
    else if (m.msg === 'ack' && m.ack) this.guard('ack', () => h.ack(m.ack!.deploymentId));
    else if (m.msg === 'setAlarms' && m.setAlarms) this.guard('set_alarms', () => h.setAlarms(m.setAlarms!));
    else if (m.msg === 'upgrade' && m.upgrade && h.upgrade) this.guard('upgrade', () => h.upgrade!(m.upgrade!));
    else this.log.debug('ignored a coordinator message', { kind: m.msg ?? 'unknown' });
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error(`handling a ${what} message failed`, { reason: describeError(err) });
    }
  }

  /** Beats every `intervalMs`, the first after `firstMs` (default: one interval). */
  private beatEvery(call: Duplex, intervalMs: number, firstMs = intervalMs): void {
    this.stopHeartbeat();
    const beat = () => {
      if (this.call === call) call.write({ heartbeat: this.heartbeatMessage() });
    };
    if (firstMs === intervalMs) {
      this.heartbeat = setInterval(beat, intervalMs);
      return;
    }
    this.heartbeat = setTimeout(() => {
      beat();
      this.heartbeat = setInterval(beat, intervalMs);
    }, firstMs);
  }

  /** The coordinator stretched the heartbeat interval for its fleet (coordinator/agents/pace.ts). */
  private paced(call: Duplex, intervalMs: number): void {
    if (!this.registered || this.call !== call || intervalMs < 100) return;
    this.log.info('heartbeat interval changed by the coordinator', { heartbeat_interval_ms: intervalMs });
    // The coordinator tells every agent at once: a random first beat keeps them from beating in step.
    this.beatEvery(call, intervalMs, Math.random() * intervalMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
