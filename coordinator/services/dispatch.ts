import type { Context } from '../context.js';
import type { Deployment, Revision } from '../domain/types.js';
import type { DeployCommand } from '../../proto/gen/ferry/v1/DeployCommand.js';
import { reconcileHostGroups } from './catch-up.js';

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
 * After an agent (re)registers: sends it what the desired state of each of its host deployments
 * in flight says (docs/design/architecture.md §9). `run`: the deploy command
 * again — one written to a stream that was already dead is otherwise lost, and the agent ignores a
 * command it already runs or queues and re-sends the result of one it finished. `stop` (the
 * deployment was stopped): the cancel again, so a stop written to a dead stream still holds. Then
 * what its groups owe it: a rollback it missed while offline, else its catch-up (services/catch-up.ts). `running` is the run the agent's Register reported.
 */
export function reconcileRegisteredHost(ctx: Context, hostId: string, running: string | undefined): void {
  const session = ctx.registry.get(hostId);
  if (!session) return;
  for (const hd of ctx.store.hostDeploymentsOnHost(hostId, ['InProgress'])) {
    const d = ctx.store.getDeployment(hd.deploymentId);
    const revision = d && ctx.store.findRevisionByDigest(d.revisionDigest);
    if (!d || !revision) continue;
    if (hd.desired === 'stop') {
      const sent = session.send({ cancel: { deploymentId: d.id, reason: d.errorMessage ?? 'the deployment was stopped' } });
      ctx.log.info('cancel re-sent after registration', { component: 'agents', deployment_id: d.id, host_id: hostId, sent });
      continue;
    }
    const sent = session.send({ deploy: deployCommand(d, revision) });
    if (sent) ctx.metrics.commandSent(d.id, hostId, ctx.clock.now());
    ctx.log.info('in-flight command re-sent after registration', { component: 'agents', deployment_id: d.id, host_id: hostId, sent });
  }
  reconcileHostGroups(ctx, hostId, running);
}
