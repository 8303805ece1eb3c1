import { FILE_EXISTS_BEHAVIORS, type FileExistsBehavior } from '../../common/appspec/types.js';
import { FerryError } from '../../common/errors.js';
import { type Context, iso } from '../context.js';
import { TERMINAL_DEPLOYMENT_STATUSES } from '../domain/status.js';
import { type WindowWait, deploymentWait } from './windows.js';
import { mapSeq } from '../async.js';
import type { AutoRollbackEvent, Deployment, DeploymentCreator, DeploymentGroup, HostDeployment, LifecycleEventRecord, Revision } from '../domain/types.js';

export interface CreateDeploymentInput {
  application: string;
  group: string;
  /** A digest, a unique prefix of ≥ 8 hex digits, or `latest`. */
  revision: string;
  configName?: string;
  description?: string;
  fileExistsBehavior?: string;
  ignoreApplicationStopFailures?: boolean;
  creator?: DeploymentCreator;
  /** The caller who asked for it (actorOf in api/control-service.ts). */
  createdBy?: string;
  targetHostIds?: string[];
  /** Override of the group's auto-rollback events ([] = never). */
  autoRollback?: AutoRollbackEvent[];
  rollbackOf?: string;
  /** Pause for approval once this many hosts have succeeded. */
  approveAfter?: number;
  /** Pause for approval once this many zones finished and were monitored (zonal configs only). */
  approveAfterZones?: number;
  ignoreAlarms?: boolean;
  minHealthyTimeMs?: number;
  /** Emergencies: the group's deployment windows do not hold it. */
  ignoreWindow?: boolean;
  requireAllHosts?: boolean;
  /** Set by a schedule's run (creator `schedule`). */
  scheduleId?: string;
}

export async function resolveRevision(ctx: Context, application: string, ref: string): Promise<Revision> {
  const wanted = ref.trim().toLowerCase();
  if (wanted === 'latest') {
    const latest = await ctx.store.latestRevision(application);
    if (!latest) throw new FerryError('FAILED_PRECONDITION', `application ${application} has no revisions yet; push one with: ferry revision push DIR --app ${application}`);
    return latest;
  }
  if (!/^[0-9a-f]{8,64}$/.test(wanted)) {
    throw new FerryError('INVALID_ARGUMENT', `revision '${ref}' is not a digest, a digest prefix of at least 8 hex digits, or 'latest'`);
  }
  const matches = (await ctx.store.listRevisions(application)).filter(r => r.digest.startsWith(wanted));
  if (matches.length === 0) throw new FerryError('NOT_FOUND', `application ${application} has no revision ${ref}; see ferry revision list --app ${application}`);
  if (matches.length > 1) throw new FerryError('INVALID_ARGUMENT', `revision prefix ${ref} matches ${matches.length} revisions; give more digits (see ferry revision list --app ${application})`);
  return matches[0]!;
}

export async function requireGroup(ctx: Context, application: string, name: string): Promise<DeploymentGroup> {
  if (!await ctx.store.getApplication(application)) {
    throw new FerryError('NOT_FOUND', `application ${application} does not exist; create it with: ferry app create ${application}`);
  }
  const group = await ctx.store.getGroup(application, name);
  if (!group) throw new FerryError('NOT_FOUND', `application ${application} has no deployment group ${name}; see ferry group list --app ${application}`);
  return group;
}

/** Validates and records a deployment; it waits Queued until the scheduler starts it. */
export async function createDeployment(ctx: Context, input: CreateDeploymentInput): Promise<Deployment> {
  const deployment = await prepareDeployment(ctx, input);
  await ctx.store.createDeployment(deployment);
  ctx.log.info('deployment created', {
    component: 'deployments', deployment_id: deployment.id, application: deployment.application,
    group: deployment.groupName, revision: deployment.revisionDigest, creator: deployment.creator, to: 'Queued',
    ...(deployment.scheduleId && { schedule_id: deployment.scheduleId }),
  });
  ctx.changes.deployment(deployment.id);
  ctx.kick();
  return deployment;
}

/** Every check of createDeployment, without recording anything (schedules check up front too). */
export async function prepareDeployment(ctx: Context, input: CreateDeploymentInput): Promise<Deployment> {
  const group = await requireGroup(ctx, input.application, input.group);
  const revision = await resolveRevision(ctx, input.application, input.revision);
  const configName = input.configName || group.configName;
  if (!await ctx.store.getConfig(configName)) {
    throw new FerryError('NOT_FOUND', `deployment config ${configName} does not exist; see ferry config list`);
  }
  if (input.approveAfterZones !== undefined && !(await ctx.store.getConfig(configName))?.zonal) {
    throw new FerryError('INVALID_ARGUMENT', `--approve-after first-zone needs a zonal deployment config; ${configName} is not zonal (ferry config create NAME --zonal …)`);
  }
  const behavior = (input.fileExistsBehavior || 'DISALLOW').toUpperCase();
  if (!(FILE_EXISTS_BEHAVIORS as readonly string[]).includes(behavior)) {
    throw new FerryError('INVALID_ARGUMENT', `file exists behavior '${input.fileExistsBehavior}' is not one of ${FILE_EXISTS_BEHAVIORS.join(', ')}`);
  }
  const deployment: Deployment = {
    id: ctx.ids.deployment(),
    application: input.application,
    groupId: group.id,
    groupName: group.name,
    revisionDigest: revision.digest,
    configName,
    status: 'Queued',
    creator: input.creator ?? 'user',
    ...(input.createdBy && { createdBy: input.createdBy }),
    description: input.description ?? '',
    fileExistsBehavior: behavior as FileExistsBehavior,
    ignoreApplicationStopFailures: input.ignoreApplicationStopFailures ?? false,
    createdAt: iso(ctx.clock.now()),
    ...(input.targetHostIds && { targetHostIds: input.targetHostIds }),
    ...(input.autoRollback && { autoRollback: input.autoRollback }),
    ...(input.rollbackOf && { rollbackOf: input.rollbackOf }),
    ...(input.approveAfter !== undefined && { approveAfter: input.approveAfter }),
    ...(input.approveAfterZones !== undefined && { approveAfterZones: input.approveAfterZones }),
    ...(input.ignoreAlarms && { ignoreAlarms: true }),
    ...(input.minHealthyTimeMs && { minHealthyTimeMs: input.minHealthyTimeMs }),
    ...(input.ignoreWindow && { ignoreWindow: true }),
    ...(input.requireAllHosts && { requireAllHosts: true }),
    ...(input.scheduleId && { scheduleId: input.scheduleId }),
  };
  return deployment;
}

export interface HostDeploymentView extends HostDeployment {
  hostname: string;
  zone?: string;
  events: LifecycleEventRecord[];
}

export interface DeploymentView {
  deployment: Deployment;
  /** Why it waits (Queued, or Paused outside its window), and when its next window opens. */
  wait?: WindowWait;
  hosts: HostDeploymentView[];
  /** Every target's count (hosts may be a page). */
  hostsTotal: number;
  /** The last host of this page when more follow. */
  nextHostAfter?: string;
  overview: Record<'pending' | 'inProgress' | 'succeeded' | 'failed' | 'skipped' | 'unknown', number>;
}

/**
 * A deployment with its hosts and their events. `page` (GetDeployment's host_limit/host_after): only
 * `limit` hosts after the host `after`, in the deployment's order, with only their events read; the
 * overview counts every host either way.
 */
export async function getDeploymentView(ctx: Context, id: string, page?: { limit: number; after: string }): Promise<DeploymentView> {
  const deployment = await ctx.store.getDeployment(id);
  if (!deployment) throw new FerryError('NOT_FOUND', `deployment ${id} does not exist; see ferry deploy list`);
  const all = await ctx.store.listHostDeployments(id);
  let shown = all;
  let nextHostAfter: string | undefined;
  if (page && page.limit > 0) {
    const from = page.after ? all.findIndex(hd => hd.hostId === page.after) + 1 : 0;
    if (page.after && from === 0) throw new FerryError('INVALID_ARGUMENT', `host_after: host ${page.after} is not a target of deployment ${id}`);
    shown = all.slice(from, from + page.limit);
    if (from + page.limit < all.length) nextHostAfter = shown[shown.length - 1]?.hostId;
  }
  // Grouped by host once: filtering every event for every host was quadratic (10,000 hosts × 110,000 events).
  const events = new Map<string, LifecycleEventRecord[]>();
  const records = shown === all ? await ctx.store.listEventRecords(id) : (await mapSeq(shown, hd => ctx.store.listEventRecords(id, hd.hostId))).flat();
  for (const e of records) {
    const list = events.get(e.hostId);
    if (list) list.push(e);
    else events.set(e.hostId, [e]);
  }
  const count = (s: string) => all.filter(h => h.status === s).length;
  const hosts = await mapSeq(shown, async hd => {
    const host = await ctx.store.getHost(hd.hostId);
    return {
      ...hd,
      hostname: host?.hostname ?? hd.hostId,
      ...(host?.zone && { zone: host.zone }),
      events: events.get(hd.hostId) ?? [],
    };
  });
  const wait = await deploymentWait(ctx, deployment);
  return {
    deployment,
    ...(wait && { wait }),
    hosts,
    hostsTotal: all.length,
    ...(nextHostAfter && { nextHostAfter }),
    overview: {
      pending: count('Pending'), inProgress: count('InProgress'), succeeded: count('Succeeded'),
      failed: count('Failed'), skipped: count('Skipped'), unknown: count('Unknown'),
    },
  };
}

export const isTerminal = (d: Deployment) => TERMINAL_DEPLOYMENT_STATUSES.includes(d.status);
