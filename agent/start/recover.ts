import { promises as fs } from 'node:fs';
import { describeError } from '../../common/errors.js';
import { recoverInterrupted } from '../lifecycle/recovery.js';
import type { Clock, HostDeploymentResult } from '../lifecycle/types.js';
import { type CheckedCommand, checkDeployCommand, hostResult } from '../link/messages.js';
import type { CommandStore, Outbox } from '../link/outbox.js';
import type { Logger } from '../log.js';
import type { Layout } from '../state/layout.js';
import { acquireHostLock } from '../../common/pid-lock.js';

export interface RecoveryDeps {
  layout: Layout;
  commands: CommandStore;
  outbox: Outbox;
  clock: Clock;
  log: Logger;
  signal?: AbortSignal;
}

async function readResult(layout: Layout, c: CheckedCommand): Promise<HostDeploymentResult | undefined> {
  try {
    const r = JSON.parse(await fs.readFile(layout.resultFile(c.groupId, c.deploymentId), 'utf8')) as HostDeploymentResult;
    return r.deploymentId === c.deploymentId ? r : undefined;
  } catch {
    return undefined; // never finished (or never started): no result
  }
}

/** Interrupted while fetching or unpacking the revision: no hook ran, nothing was installed. */
const resumable = (r: HostDeploymentResult) => r.error?.code === 'FailedAfterRestart' && r.error.event === 'DownloadBundle';

/**
 * Start-up crash recovery, holding the host lock. Every crash marker becomes a FailedAfterRestart
 * result (recoverInterrupted). Then each accepted command still on disk (its result never reached
 * the outbox) is either reported — its recovered or finished result goes to the outbox — or
 * re-run: when it never started, or was interrupted during DownloadBundle (the download resumes
 * from the partial file). Returns the commands to re-run, oldest first.
 */
export async function recoverAtStart(d: RecoveryDeps): Promise<CheckedCommand[]> {
  const lock = await acquireHostLock(d.layout.lockFile, {
    wait: true, ...(d.signal && { signal: d.signal }),
    onWait: h => d.log.info('waiting for the host lock before recovery', { holder_pid: h?.pid, holder_deployment_id: h?.deploymentId }),
  });
  try {
    const interrupted = new Map((await recoverInterrupted(d.layout, d.clock.now())).map(i => [i.marker.deploymentId, i]));
    const { commands, unreadable } = await d.commands.list();
    for (const file of unreadable) d.log.error('an accepted command cannot be read; it is not re-run', { file });
    const rerun: CheckedCommand[] = [];
    for (const { command } of commands) {
      const id = command.deploymentId;
      const log = d.log.child({ deployment_id: id });
      const checked = checkDeployCommand(command);
      if (!checked.ok || (await d.outbox.get(id))) {
        await d.commands.remove(id);
        continue;
      }
      const recovered = interrupted.get(id)?.result ?? (await readResult(d.layout, checked.command));
      interrupted.delete(id);
      if (!recovered || resumable(recovered)) {
        log.info('resuming a deployment accepted before the restart', {
          reason: recovered ? 'interrupted during DownloadBundle' : 'not started',
        });
        rerun.push(checked.command);
        continue;
      }
      await d.outbox.put(hostResult(recovered, checked.command.digest));
      await d.commands.remove(id);
      log.warn(recovered.error?.code === 'FailedAfterRestart'
        ? `interrupted by an agent restart during ${recovered.error.event}: reported FailedAfterRestart`
        : 'finished before the restart: its result is queued', { status: recovered.status });
    }
    for (const [id, i] of interrupted) {
      d.log.warn('a deployment not run by this daemon (ferry-agent local?) was interrupted; result.json records FailedAfterRestart',
        { deployment_id: id, event: i.marker.event });
    }
    return rerun;
  } catch (err) {
    d.log.error('start-up recovery failed', { reason: describeError(err) });
    throw err;
  } finally {
    await lock.release();
  }
}
