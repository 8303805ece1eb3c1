import type { Context } from '../context.js';
import type { Deployment, Revision } from '../domain/types.js';
import type { DeployCommand } from '../../proto/gen/ferry/v1/DeployCommand.js';

/** The one command a host gets for a host deployment: the whole plan for that host. */
export function deployCommand(d: Deployment, revision: Revision): DeployCommand {
  return {
    deploymentId: d.id, applicationName: d.application, groupName: d.groupName, groupId: d.groupId,
    revisionDigest: d.revisionDigest, revisionSize: revision.size, bundleType: revision.bundleType,
    bundleCommit: revision.commit ?? '', fileExistsBehavior: d.fileExistsBehavior,
    ignoreApplicationStopFailures: d.ignoreApplicationStopFailures, events: [],
  };
}

/**
 * After an agent (re)registers, sends it again the command of every host deployment the
 * coordinator believes is in flight on it. A command written to a stream that was already dead
 * (the agent crashed before the coordinator noticed) is otherwise lost and the host would stay
 * InProgress for ever. The agent ignores a command it already runs or queues, and re-sends the
 * result of one it has finished, so this is safe to repeat.
 */
export function redispatchInFlight(ctx: Context, hostId: string): void {
  const session = ctx.registry.get(hostId);
  if (!session) return;
  for (const hd of ctx.store.hostDeploymentsOnHost(hostId, ['InProgress'])) {
    const d = ctx.store.getDeployment(hd.deploymentId);
    const revision = d && ctx.store.findRevisionByDigest(d.revisionDigest);
    if (!d || !revision) continue;
    const sent = session.send({ deploy: deployCommand(d, revision) });
    if (sent) ctx.metrics.commandSent(d.id, hostId, ctx.clock.now());
    ctx.log.info('in-flight command re-sent after registration', { component: 'agents', deployment_id: d.id, host_id: hostId, sent });
  }
}
