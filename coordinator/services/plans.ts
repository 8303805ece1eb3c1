import { isOpen, nextOpening } from '../domain/windows.js';
import { FILE_EXISTS_BEHAVIORS, type FileExistsBehavior } from '../../common/appspec/types.js';
import { FerryError } from '../../common/errors.js';
import { type Context, iso } from '../context.js';
import { type DeploymentPlanRecord, PLAN_TTL_MS, type PlanOptions } from '../domain/plan.js';
import { matchesTagSets } from '../domain/tags.js';
import type { Deployment, DeploymentConfig, DeploymentGroup, Host } from '../domain/types.js';
import { buildPlan } from '../plan-preview/build.js';
import { explainChanges, fingerprint, fingerprintInput } from '../plan-preview/fingerprint.js';
import type { CurrentRevision, RevisionTree } from '../plan-preview/types.js';
import type { RevisionTrees } from '../revisions/revision-tree.js';
import { mapSeq } from '../async.js';
import { type CreateDeploymentInput, createDeployment, requireGroup, resolveRevision } from './deployments.js';

/** What `ferry deploy plan` asks: a deployment as it would be created. */
export type PlanDeploymentInput = Omit<CreateDeploymentInput, 'creator' | 'targetHostIds' | 'rollbackOf'>;

/**
 * `ferry deploy plan`: what a deployment would do, from the stored revisions and the
 * coordinator's records, without touching any host. The plan is stored for 24 hours with a
 * fingerprint of everything it depends on; `executePlan` refuses it once that changed.
 */
export async function planDeployment(ctx: Context, trees: RevisionTrees, input: PlanDeploymentInput): Promise<DeploymentPlanRecord> {
  const group = await requireGroup(ctx, input.application, input.group);
  const revision = await resolveRevision(ctx, input.application, input.revision);
  const config = await requireConfig(ctx, input.configName || group.configName);
  if (input.approveAfterZones !== undefined && !config.zonal) {
    throw new FerryError('INVALID_ARGUMENT', `--approve-after first-zone needs a zonal deployment config; ${config.name} is not zonal`);
  }
  const options = planOptions(input);
  // The snapshot the plan is about, taken before any await: the fingerprint describes exactly it.
  const hosts = await groupHosts(ctx, group);
  const fpInput = fingerprintInput(group, config, hosts.map(h => ({ hostId: h.host.id, ...(h.current && { revision: h.current.digest, lastStatus: h.current.lastStatus }) })));
  const busy = await ctx.store.activeDeployment(group.id) ?? await ctx.store.nextQueued(group.id);
  const next = await trees.load(revision);
  const previous = new Map<string, RevisionTree>();
  for (const digest of new Set(hosts.flatMap(h => (h.current?.installed ? [h.current.digest] : [])))) {
    const stored = await ctx.store.findRevisionByDigest(digest);
    if (stored) previous.set(digest, await trees.load(stored));
  }
  const body = buildPlan({
    next, previous, config, fileExistsBehavior: options.fileExistsBehavior,
    hosts: hosts.map(h => ({ hostId: h.host.id, hostname: h.host.hostname, ...(h.host.zone && { zone: h.host.zone }), ...(h.current && { current: h.current }) })),
  });
  if (busy) body.notes.push(`group ${group.name} has deployment ${busy.id} ${busy.status}: --from-plan is refused until it ends, and its hosts' revisions may change by then`);
  const now = ctx.clock.now();
  const plan: DeploymentPlanRecord = {
    id: ctx.ids.plan(), application: group.application, groupId: group.id, groupName: group.name,
    revisionDigest: revision.digest, configName: config.name, options, fingerprint: fingerprint(fpInput),
    document: {
      ...body, minimumHealthy: config.minimumHealthy, ...(config.zonal && { zonal: config.zonal }),
      windows: groupWindows(group, now), fingerprintInput: fpInput,
    },
    createdAt: iso(now), expiresAt: iso(now + PLAN_TTL_MS),
  };
  await ctx.store.createPlan(plan);
  ctx.log.info('deployment plan created', {
    component: 'plans', plan_id: plan.id, application: plan.application, group: plan.groupName, revision: plan.revisionDigest, hosts: hosts.length,
  });
  return plan;
}

export async function getPlan(ctx: Context, id: string): Promise<DeploymentPlanRecord> {
  const plan = await ctx.store.getPlan(id.trim());
  if (!plan) throw new FerryError('NOT_FOUND', `plan ${id} does not exist; make one with: ferry deploy plan --app A --group G --revision R`);
  return plan;
}

/**
 * `ferry deploy create --from-plan ID`: the plan's revision, config and options, to the planned
 * hosts, once. Refused (FAILED_PRECONDITION, naming what changed) when the plan expired or was
 * used, the group is busy, or the group, its config, its hosts or their revisions changed.
 */
export async function executePlan(ctx: Context, id: string, createdBy?: string): Promise<Deployment> {
  const plan = await getPlan(ctx, id);
  const again = `make a new plan: ferry deploy plan --app ${plan.application} --group ${plan.groupName} --revision ${plan.revisionDigest.slice(0, 12)}`;
  if (plan.usedBy) throw new FerryError('FAILED_PRECONDITION', `plan ${plan.id} was already executed by deployment ${plan.usedBy}; a plan runs once: ${again}`);
  if (ctx.clock.now() > Date.parse(plan.expiresAt)) throw new FerryError('FAILED_PRECONDITION', `plan ${plan.id} expired at ${plan.expiresAt} (plans last 24 hours): ${again}`);
  const group = await ctx.store.getGroupById(plan.groupId);
  if (!group) throw new FerryError('FAILED_PRECONDITION', `plan ${plan.id}: deployment group ${plan.groupName} no longer exists`);
  const busy = await ctx.store.activeDeployment(group.id) ?? await ctx.store.nextQueued(group.id);
  if (busy) {
    throw new FerryError('FAILED_PRECONDITION', `plan ${plan.id}: group ${group.name} has deployment ${busy.id} ${busy.status}, which changes its hosts' revisions; wait for it, then ${again}`);
  }
  const config = await requireConfig(ctx, plan.configName);
  const current = fingerprintInput(group, config, (await groupHosts(ctx, group)).map(h => ({ hostId: h.host.id, ...(h.current && { revision: h.current.digest, lastStatus: h.current.lastStatus }) })));
  if (fingerprint(current) !== plan.fingerprint) {
    const reasons = explainChanges(plan.document.fingerprintInput, current);
    throw new FerryError('FAILED_PRECONDITION', `plan ${plan.id} is out of date: the group changed since it was made:\n  - ${reasons.join('\n  - ')}\n${again}`);
  }
  const o = plan.options;
  const deployment = await createDeployment(ctx, {
    application: plan.application, group: plan.groupName, revision: plan.revisionDigest, configName: plan.configName,
    ...(createdBy && { createdBy }),
    description: o.description, fileExistsBehavior: o.fileExistsBehavior, ignoreApplicationStopFailures: o.ignoreApplicationStopFailures,
    targetHostIds: plan.document.hosts.map(h => h.hostId),
    ...(o.autoRollback && { autoRollback: o.autoRollback }),
    ...(o.approveAfter !== undefined && { approveAfter: o.approveAfter }),
    ...(o.approveAfterZones !== undefined && { approveAfterZones: o.approveAfterZones }),
    ...(o.ignoreAlarms && { ignoreAlarms: true }),
    ...(o.minHealthyTimeMs && { minHealthyTimeMs: o.minHealthyTimeMs }),
    ...(o.requireAllHosts && { requireAllHosts: true }),
  });
  if (!await ctx.store.markPlanUsed(plan.id, deployment.id)) {
    // Not reachable while the store is synchronous (nothing runs between the check and here); said plainly if it ever is.
    ctx.log.warn('plan used twice', { component: 'plans', plan_id: plan.id, deployment_id: deployment.id });
  }
  ctx.log.info('deployment plan executed', { component: 'plans', plan_id: plan.id, deployment_id: deployment.id });
  return deployment;
}

interface GroupHost {
  host: Host;
  current?: CurrentRevision;
}

/** Connected hosts the group selects now (as `ferry group show`), each with what it runs for the group. */
async function groupHosts(ctx: Context, group: DeploymentGroup): Promise<GroupHost[]> {
  const records = new Map((await ctx.store.hostRevisions(group.id)).map(r => [r.hostId, r]));
  const selected = (await ctx.store.listHosts()).filter(h => h.connected && matchesTagSets(h.tags, group.tagSets));
  return mapSeq(selected, async (host): Promise<GroupHost> => {
    const r = records.get(host.id);
    if (!r) return { host };
    // The agent moves its "last installed" pointer when Install succeeds, even if a later hook fails.
    const installed = r.lastStatus === 'Succeeded' ||
      (await ctx.store.listEventRecords(r.deploymentId, host.id)).some(e => e.event === 'Install' && e.status === 'Succeeded');
    return { host, current: { digest: r.revisionDigest, lastStatus: r.lastStatus, installed } };
  });
}

async function requireConfig(ctx: Context, name: string): Promise<DeploymentConfig> {
  const config = await ctx.store.getConfig(name);
  if (!config) throw new FerryError('NOT_FOUND', `deployment config ${name} does not exist; see ferry config list`);
  return config;
}

function planOptions(input: PlanDeploymentInput): PlanOptions {
  const behavior = (input.fileExistsBehavior || 'DISALLOW').toUpperCase();
  if (!(FILE_EXISTS_BEHAVIORS as readonly string[]).includes(behavior)) {
    throw new FerryError('INVALID_ARGUMENT', `file exists behavior '${input.fileExistsBehavior}' is not one of ${FILE_EXISTS_BEHAVIORS.join(', ')}`);
  }
  return {
    description: input.description ?? '', fileExistsBehavior: behavior as FileExistsBehavior,
    ignoreApplicationStopFailures: input.ignoreApplicationStopFailures ?? false,
    ...(input.autoRollback && { autoRollback: input.autoRollback }),
    ...(input.approveAfter !== undefined && { approveAfter: input.approveAfter }),
    ...(input.approveAfterZones !== undefined && { approveAfterZones: input.approveAfterZones }),
    ...(input.ignoreAlarms && { ignoreAlarms: true }),
    ...(input.minHealthyTimeMs && { minHealthyTimeMs: input.minHealthyTimeMs }),
    ...(input.requireAllHosts && { requireAllHosts: true }),
  };
}

/**
 * The group's deployment windows, for the plan's `windows` field. Windows are being added to
 * groups separately; until a group carries them this lists nothing. The fingerprint already
 * covers them (it hashes every field of the group).
 */
/** The group's windows as the plan shows them, with when the next one opens (ferry group show has the same). */
function groupWindows(group: DeploymentGroup, now: number): string[] {
  const windows = group.windows ?? [];
  if (windows.length === 0) return [];
  const next = nextOpening(windows, now);
  const lines = windows.map(w => `${w.cron} for ${Math.round(w.durationMs / 60_000)} min (${w.timezone})`);
  lines.push(isOpen(windows, now) ? 'a window is open now' : next !== undefined ? `next window opens ${iso(next)}` : 'no window opens within a year');
  return lines;
}
