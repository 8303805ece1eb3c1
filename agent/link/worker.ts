import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { AgentMessage } from '../../proto/gen/ferry/v1/AgentMessage.js';
import type { DeployCommand__Output as DeployCommand } from '../../proto/gen/ferry/v1/DeployCommand.js';
import type { HostResult__Output as HostResult } from '../../proto/gen/ferry/v1/HostResult.js';
import { describeError, isDiskFull } from '../../common/errors.js';
import type { ExecutorDeps } from '../lifecycle/executor.js';
import type { BundleProvider } from '../lifecycle/types.js';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../state/files.js';
import type { Layout } from '../state/layout.js';
import { type HostLock, acquireHostLock } from '../../common/pid-lock.js';
import { type CheckedCommand, checkDeployCommand, hostResult, notRunResult } from './messages.js';
import type { CommandStore, Outbox } from './outbox.js';
import { REVISION_DIGEST_FILE, type RevisionCache, retainedDigests } from './revision-cache.js';
import { StreamSink } from './stream-sink.js';

export interface WorkerDeps {
  layout: Layout;
  cache: RevisionCache;
  outbox: Outbox;
  commands: CommandStore;
  /** Event updates and log batches: live, queued by the session while disconnected. */
  send: (m: AgentMessage) => void;
  /** A result already in the outbox: sent now when connected (the outbox re-sends it otherwise). */
  sendResult: (r: HostResult) => void;
  executor: Pick<ExecutorDeps, 'runner' | 'users' | 'clock' | 'options'>;
  maxBundleBytes: number;
  logger: Logger;
  /** Told of every result reported (metrics). */
  onReport?: (r: HostResult) => void;
  /** Acknowledges a deploy command to the coordinator (CommandAck): persisted and queued, or already known. */
  ackCommand?: (deploymentId: string) => void;
}

interface Job {
  command: CheckedCommand;
  abort: AbortController;
  cancelReason?: string;
}

/**
 * Runs the coordinator's host deployments one at a time: a DeployCommand runs at once when the
 * host is idle, else waits in the queue. Each run takes the host lock (so `ferry-agent local` and
 * the daemon never interleave), drives the lifecycle executor with a streaming sink and a bundle
 * from the revision cache, then puts the result in the outbox before sending it.
 * A CancelCommand aborts the running deployment (the executor kills the hook's process group) or
 * drops a queued one (reported Failed, every event Skipped).
 */
export class DeploymentWorker {
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  /** Queued, running or being accepted: a repeated command is ignored. */
  private readonly known = new Set<string>();
  /** Cancels that arrived while their command was still being accepted. */
  private readonly earlyCancels = new Map<string, string>();
  /** Accepts run one after another, so commands are queued in arrival order. */
  private accepting: Promise<void> = Promise.resolve();
  private busy = false;
  private idle: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: WorkerDeps) {}

  /** What an agent upgrade must wait for: a deployment running, queued or being accepted; undefined when idle. */
  busyWith(): string | undefined {
    if (this.running) return `deployment ${this.running.command.deploymentId} is running`;
    const waiting = Math.max(this.queue.length, this.known.size);
    return waiting > 0 ? `${waiting} deployment(s) waiting to run` : undefined;
  }

  /**
   * Takes no more commands from now on (the agent is about to exit for an upgrade): later ones are
   * ignored, and the coordinator sends them again when the new agent registers.
   */
  stopTaking(): void {
    this.stopped = true;
  }

  runningDeploymentId(): string {
    return this.running?.command.deploymentId ?? '';
  }

  /** A DeployCommand from the coordinator: checked, persisted, queued (in arrival order). */
  accept(raw: DeployCommand): Promise<void> {
    const next = this.accepting.then(() => this.acceptOne(raw));
    this.accepting = next.catch(() => undefined);
    return next;
  }

  private async acceptOne(raw: DeployCommand): Promise<void> {
    const id = raw.deploymentId;
    const log = this.deps.logger.child({ deployment_id: id });
    if (this.stopped) return void log.warn('deploy command ignored: the agent is stopping');
    if (this.known.has(id)) {
      this.deps.ackCommand?.(id);
      return void log.info('repeated deploy command ignored: already queued or running');
    }
    const checked = checkDeployCommand(raw);
    if (!checked.ok) {
      log.error('invalid deploy command rejected', { reason: checked.problems.join('; ') });
      return this.report(notRunResult(id, raw.revisionDigest, 'UnknownError', `invalid deploy command: ${checked.problems.join('; ')}`), log);
    }
    this.known.add(id);
    try {
      const done = await this.deps.outbox.get(id);
      if (done) {
        this.known.delete(id);
        log.info('deploy command for a finished deployment: re-sending its result');
        return this.deps.sendResult(done);
      }
      await this.deps.commands.save(raw, this.deps.executor.clock.now());
    } catch (err) {
      this.known.delete(id);
      // Not taken, said so: the host must not stay InProgress with nothing behind it (a full
      // disk once dropped the command silently and blocked the group for good).
      const code = isDiskFull(err) ? 'DISK_FULL' : 'UnknownError';
      const why = `the agent could not accept the deploy command: ${describeError(err)}`;
      log.error('deploy command not accepted', { reason: why, error_code: code });
      return this.report(notRunResult(id, raw.revisionDigest, code, why), log);
    }
    this.deps.ackCommand?.(id);
    const cancelled = this.earlyCancels.get(id);
    this.earlyCancels.delete(id);
    if (cancelled === undefined) return this.enqueue(checked.command, log);
    log.info('deployment cancelled while it was being accepted', { reason: cancelled });
    await this.finish(checked.command, notRunResult(id, checked.command.digest, 'UnknownError', `cancelled before it started: ${cancelled}`), log)
      .finally(() => this.known.delete(id));
  }

  /** A command accepted before a restart (already persisted). */
  resume(command: CheckedCommand): void {
    if (this.known.has(command.deploymentId)) return;
    this.known.add(command.deploymentId);
    this.enqueue(command, this.deps.logger.child({ deployment_id: command.deploymentId }));
  }

  cancel(deploymentId: string, reason: string): void {
    const log = this.deps.logger.child({ deployment_id: deploymentId });
    const why = reason || 'cancelled by the coordinator';
    if (this.running?.command.deploymentId === deploymentId) {
      log.info('cancelling the running deployment', { reason: why });
      this.running.cancelReason = why;
      this.running.abort.abort();
      return;
    }
    const i = this.queue.findIndex(j => j.command.deploymentId === deploymentId);
    if (i < 0 && this.known.has(deploymentId)) return void this.earlyCancels.set(deploymentId, why);
    if (i < 0) return void log.info('cancel ignored: deployment neither running nor queued', { reason: why });
    const [job] = this.queue.splice(i, 1);
    log.info('queued deployment dropped', { reason: why });
    this.finish(job!.command, notRunResult(deploymentId, job!.command.digest, 'UnknownError', `cancelled before it started: ${why}`), log)
      .catch(err => log.error('could not report the dropped deployment', { reason: describeError(err) }))
      .finally(() => this.known.delete(deploymentId));
  }

  /**
   * Stops taking work; cancels the running deployment and waits for its result to be in the
   * outbox. Queued commands (and one still waiting for the host lock) stay on disk for the next start.
   */
  async shutdown(reason: string): Promise<void> {
    this.stopped = true;
    if (this.running) {
      this.running.cancelReason = reason;
      this.running.abort.abort();
    }
    await this.accepting;
    this.queue.length = 0; // still persisted: they run after the next start
    await this.idle;
  }

  private enqueue(command: CheckedCommand, log: Logger): void {
    this.queue.push({ command, abort: new AbortController() });
    log.info(this.running ? 'deployment queued' : 'deployment accepted', { queued: this.queue.length - (this.running ? 0 : 1) });
    this.pump();
  }

  private pump(): void {
    if (this.busy || this.stopped || this.queue.length === 0) return;
    this.busy = true;
    this.idle = this.drain().finally(() => {
      this.busy = false;
      this.pump();
    });
  }

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job && !this.stopped; job = this.queue.shift()) {
      this.running = job;
      const log = this.deps.logger.child({ deployment_id: job.command.deploymentId });
      try {
        await this.runJob(job, log);
      } catch (err) {
        log.error('the deployment could not be reported; its command stays for the next start', { reason: describeError(err) });
      } finally {
        this.running = undefined;
        this.known.delete(job.command.deploymentId);
      }
    }
  }

  private async runJob(job: Job, log: Logger): Promise<void> {
    const c = job.command;
    let lock: HostLock | undefined;
    let result: HostResult;
    try {
      lock = await acquireHostLock(this.deps.layout.lockFile, {
        wait: true, deploymentId: c.deploymentId, signal: job.abort.signal,
        onWait: h => log.info('waiting for the host lock', { holder_pid: h?.pid, holder_deployment_id: h?.deploymentId }),
      });
    } catch (err) {
      if (this.stopped) return void log.info('stopping before the deployment started: it runs after the next start');
      const why = job.abort.signal.aborted ? `cancelled before it started: ${job.cancelReason}` : `could not take the host lock: ${describeError(err)}`;
      return this.finish(c, notRunResult(c.deploymentId, c.digest, 'UnknownError', why), log);
    }
    try {
      log.info('deployment started', { application: c.applicationName, group_id: c.groupId, revision_digest: c.digest });
      result = await this.execute(job);
    } catch (err) {
      result = notRunResult(c.deploymentId, c.digest, 'UnknownError', `the agent could not run the deployment: ${describeError(err)}`);
    } finally {
      await lock.release();
    }
    if (job.cancelReason && result.status !== 'Succeeded') result.errorMessage += ` (cancelled: ${job.cancelReason})`;
    const level = result.status === 'Succeeded' ? 'info' : 'warn';
    log[level]('deployment finished', { status: result.status, error_event: result.errorEvent, error_code: result.errorCode });
    await this.finish(c, result, log);
  }

  private async execute(job: Job): Promise<HostResult> {
    const { layout } = this.deps;
    const c = job.command;
    const dir = layout.deploymentDir(c.groupId, c.deploymentId);
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    await writeFileAtomic(path.join(dir, REVISION_DIGEST_FILE), c.digest + '\n');
    const sink = new StreamSink(c.deploymentId, this.deps.send);
    // The executor (appspec parsing, yaml, the installer) is loaded by the first deployment, not at start.
    const { runHostDeployment } = await import('../lifecycle/executor.js');
    const r = await runHostDeployment(
      {
        deploymentId: c.deploymentId, applicationName: c.applicationName, groupName: c.groupName, groupId: c.groupId,
        bundle: this.bundle(c, job.abort.signal), fileExistsBehavior: c.fileExistsBehavior,
        ignoreApplicationStopFailures: c.ignoreApplicationStopFailures,
        ...(c.bundleCommit && { bundleCommit: c.bundleCommit }), ...(c.events && { events: c.events }),
      },
      { ...this.deps.executor, layout, sink, signal: job.abort.signal },
    );
    sink.flush();
    return hostResult(r, c.digest);
  }

  private bundle(c: CheckedCommand, signal: AbortSignal): BundleProvider {
    return {
      describe: () => `${c.bundleType} revision ${c.digest.slice(0, 12)}`,
      unpackTo: async (destDir, appspecFileName) => {
        const source = await this.deps.cache.ensure(c.digest, c.size, c.bundleType, signal);
        const { unpackBundle } = await import('../../common/bundle/unpack.js');
        const r = await unpackBundle({
          source, type: c.bundleType, destDir, maxBytes: this.deps.maxBundleBytes, ...(appspecFileName && { appspecFileName }),
        });
        return r.strippedWrapper ? { strippedWrapper: r.strippedWrapper } : {};
      },
    };
  }

  /** Into the outbox and sent, then the command is forgotten; then revisions no deployment keeps are dropped. */
  private async finish(c: CheckedCommand, result: HostResult, log: Logger): Promise<void> {
    await this.report(result, log);
    await this.deps.commands.remove(c.deploymentId);
    try {
      const keep = await retainedDigests(this.deps.layout);
      // Partial downloads only for what is still to run: a failed one must not hold the disk.
      const active = new Set([...this.queue, ...(this.running ? [this.running] : [])].map(j => j.command.digest));
      for (const digest of active) keep.add(digest);
      const removed = await this.deps.cache.prune(keep, active);
      if (removed.length > 0) log.info('pruned cached revisions no retained deployment uses', { removed: removed.length });
    } catch (err) {
      log.warn('could not prune the revision cache', { reason: describeError(err) });
    }
  }

  private async report(result: HostResult, log: Logger): Promise<void> {
    try {
      await this.deps.outbox.put(result);
    } catch (err) {
      log.error('could not write the result to the outbox; sending it once', { reason: describeError(err) });
    }
    this.deps.onReport?.(result);
    this.deps.sendResult(result);
  }
}
