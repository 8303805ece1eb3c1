import type { AgentSession, UnackedCommand } from '../agents/registry.js';
import { type Context, iso } from '../context.js';
import type { Deployment, Revision } from '../domain/types.js';
import type { DeployCommand } from '../../proto/gen/ferry/v1/DeployCommand.js';
import { inGroupOf } from './group-lock.js';
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
export async function reconcileRegisteredHost(ctx: Context, hostId: string, running: string | undefined): Promise<void> {
  if (!await resendInFlight(ctx, hostId)) return;
  await reconcileHostGroups(ctx, hostId, running);
}

/**
 * Sends the host's agent, if its stream is on this replica, what each of its host deployments in flight
 * says: the deploy command, or the cancel of a stopped one. After its registration, and (several replicas)
 * when another replica asked for it over the change bus (Changes.hostCommand). False when its stream is not here.
 */
export async function resendInFlight(ctx: Context, hostId: string): Promise<boolean> {
  const session = ctx.registry.local(hostId);
  if (!session) return false;
  for (const listed of await ctx.store.hostDeploymentsOnHost(hostId, ['InProgress'])) {
    // Under the group's lock: a stop between reading the host deployment and sending is not missed.
    await inGroupOf(ctx, listed.deploymentId, async () => {
      const hd = await ctx.store.getHostDeployment(listed.deploymentId, hostId);
      const d = await ctx.store.getDeployment(listed.deploymentId);
      const revision = d && await ctx.store.findRevisionByDigest(d.revisionDigest);
      if (hd?.status !== 'InProgress' || !d || !revision) return;
      if (hd.desired === 'stop') {
        const sent = session.send({ cancel: { deploymentId: d.id, reason: d.errorMessage ?? 'the deployment was stopped' } });
        ctx.log.info('cancel sent', { component: 'agents', deployment_id: d.id, host_id: hostId, sent });
        return;
      }
      const sent = sendDeploy(ctx, session, d, revision);
      ctx.log.info('in-flight command sent', { component: 'agents', deployment_id: d.id, host_id: hostId, sent });
    });
  }
  return true;
}

/**
 * Writes a deploy command to the host's agent. An agent that acknowledges commands (CommandAck)
 * is expected to within the ack deadline; `checkCommandAcks` sends it again, then fails it.
 */
export function sendDeploy(ctx: Context, session: AgentSession, d: Deployment, revision: Revision): boolean {
  const sent = session.send({ deploy: deployCommand(d, revision) });
  if (!sent) return false;
  ctx.metrics.commandSent(d.id, session.hostId, ctx.clock.now());
  if (session.acksCommands) ctx.registry.commandSent(session.hostId, d.id, ctx.monotonic());
  return true;
}

/** Sends of a deploy command before its host deployment fails COMMAND_NOT_ACKNOWLEDGED. */
export const COMMAND_SENDS = 3;

/** How long an agent has to acknowledge a deploy command: two heartbeats, at least 2 s. */
export function commandAckDeadlineMs(ctx: Context): number {
  return Math.max(2 * ctx.limits.heartbeatIntervalMs, 2000);
}

/**
 * Deploy commands no ack answered within the deadline: sent again, up to COMMAND_SENDS times;
 * then the host deployment fails (COMMAND_NOT_ACKNOWLEDGED), so a command the agent never took —
 * a full disk, a crash between receiving and persisting it — cannot leave the host InProgress
 * with nothing behind it and the group blocked. `now` is monotonic.
 */
export async function checkCommandAcks(ctx: Context, now: number): Promise<void> {
  const deadline = commandAckDeadlineMs(ctx);
  for (const c of ctx.registry.unackedCommands()) {
    if (now - c.sentAt < deadline) continue;
    // Under the group's lock: a stop or a result between the reads and the send or the failure is not missed.
    await inGroupOf(ctx, c.deploymentId, () => checkCommandAck(ctx, c, deadline));
  }
}

async function checkCommandAck(ctx: Context, c: UnackedCommand, deadline: number): Promise<void> {
  const hd = await ctx.store.getHostDeployment(c.deploymentId, c.hostId);
  const session = ctx.registry.get(c.hostId);
  const d = await ctx.store.getDeployment(c.deploymentId);
  const revision = d && await ctx.store.findRevisionByDigest(d.revisionDigest);
  if (!hd || hd.status !== 'InProgress' || hd.desired === 'stop' || !session || !d || !revision) {
    ctx.registry.commandAcked(c.hostId, c.deploymentId); // nothing to wait for any more
    return;
  }
  if (c.sends < COMMAND_SENDS) {
    const sent = sendDeploy(ctx, session, d, revision);
    ctx.log.warn('deploy command not acknowledged: sent again', {
      component: 'agents', deployment_id: d.id, host_id: c.hostId, sends: c.sends + 1, deadline_ms: deadline, sent,
    });
    return;
  }
  ctx.registry.commandAcked(c.hostId, c.deploymentId);
  const message = `the agent did not acknowledge the deploy command: sent ${c.sends} times, ${Math.round(deadline / 1000)} s apart; ` +
    'see the agent\'s log on the host';
  if (await ctx.store.transitionHostDeployment(d.id, c.hostId, 'Failed', { completedAt: iso(ctx.clock.now()), errorCode: 'COMMAND_NOT_ACKNOWLEDGED', errorMessage: message, currentEvent: null })) {
    ctx.log.warn('host deployment failed: command not acknowledged', {
      component: 'agents', deployment_id: d.id, host_id: c.hostId, from: 'InProgress', to: 'Failed', error_code: 'COMMAND_NOT_ACKNOWLEDGED',
    });
    ctx.changes.deployment(d.id);
    ctx.kick();
  }
}
