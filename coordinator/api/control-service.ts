import type * as grpc from '@grpc/grpc-js';
import { FerryError, describeError } from '../../common/errors.js';
import { upgradeHosts } from '../services/agent-upgrade.js';
import { type Context, iso } from '../context.js';
import type { Caller } from '../security/auth.js';
import { SETTLED_HOST_STATUSES } from '../domain/status.js';
import type { BundleType, Host } from '../domain/types.js';
import { createApplication, createConfig, createGroup, matchingHosts, parseAutoRollback, setGroupAlarms, setGroupAutoRollback, setGroupConfig, setGroupRollbackConfig, setGroupTagSets } from '../services/catalog.js';
import { manualRollback, redeploy } from '../services/rollback.js';
import { approveDeployment, pauseDeployment, rejectDeployment, resumeDeployment } from '../services/pause.js';
import { type CreateDeploymentInput, createDeployment, getDeploymentView, isTerminal, requireGroup } from '../services/deployments.js';
import { cancelSchedule, createSchedule } from '../services/schedules.js';
import { checkWindows, deploymentWait, groupWindowState, setGroupWindows } from '../services/windows.js';
import type { CreateDeploymentRequest__Output } from '../../proto/gen/ferry/v1/CreateDeploymentRequest.js';
import { hostStateOf } from '../services/liveness.js';
import { promote } from '../services/promote.js';
import { listDeployments } from '../services/history.js';
import { retryDeployment } from '../services/retry.js';
import { stopDeployment } from '../services/stop.js';
import type { ControlServiceHandlers } from '../../proto/gen/ferry/v1/ControlService.js';
import type { DeploymentDetail } from '../../proto/gen/ferry/v1/DeploymentDetail.js';
import type { GetDeploymentRequest__Output } from '../../proto/gen/ferry/v1/GetDeploymentRequest.js';
import type { LogEntry } from '../../proto/gen/ferry/v1/LogEntry.js';
import type { StreamLogsRequest__Output } from '../../proto/gen/ferry/v1/StreamLogsRequest.js';
import type { UploadRevisionRequest__Output } from '../../proto/gen/ferry/v1/UploadRevisionRequest.js';
import type { ListHostsRequest__Output } from '../../proto/gen/ferry/v1/ListHostsRequest.js';
import type { UploadRevisionResponse } from '../../proto/gen/ferry/v1/UploadRevisionResponse.js';
import {
  configToProto, deploymentToProto, detailToProto, groupToProto, hostDeploymentToProto, hostToProto, revisionToProto, scheduleToProto, tagSetsFromProto,
  windowsFromProto,
} from './convert.js';
import { triggerToProto, triggersFor } from './events-convert.js';
import { toServiceError, unary, unaryAs } from './errors.js';
import { auditHandlers, eventHandlers } from './events-service.js';
import { QUEUED_MESSAGES, serveStream } from './stream.js';
import { createFromPlan, planHandlers } from './plan-handlers.js';
import { deploymentOptionsFromProto } from './deployment-options.js';
import { revokeHost } from '../services/enroll.js';
import { hostTagsView, setHostTags } from '../services/host-tags.js';
import { tokenHandlers } from './token-handlers.js';
import { cleanupHandlers } from './cleanup-handlers.js';
import { mapSeq } from '../async.js';
import { revisionHolds } from '../services/cleanup.js';

const BUNDLE_TYPES: readonly BundleType[] = ['tar', 'tgz', 'zip'];

const HOST_STATES = ['connected', 'reconnecting', 'lost', 'revoked'] as const;

/** ListHosts' filters, checked: a bad one is named. */
function hostsFilter(req: ListHostsRequest__Output): { limit: number; after: string; tags: Record<string, string>; state: (typeof HOST_STATES)[number] | '' } {
  const state = req.state ?? '';
  if (state && !(HOST_STATES as readonly string[]).includes(state)) {
    throw new FerryError('INVALID_ARGUMENT', `state: '${state}' is not one of ${HOST_STATES.join(', ')}`);
  }
  return { limit: req.limit ?? 0, after: req.after ?? '', tags: req.tags ?? {}, state: state as (typeof HOST_STATES)[number] | '' };
}

/** ControlService: thin adapters from protobuf to the coordinator's services (docs/design/style.md §5). */
export function controlService(ctx: Context): ControlServiceHandlers {
  const groupView = async (application: string, name: string) => {
    const g = await requireGroup(ctx, application, name);
    const last = await ctx.store.lastSuccessfulDeployment(g.id);
    const window = groupWindowState(ctx, g);
    return { ...groupToProto(g, { matchingHostIds: await matchingHosts(ctx, g), ...(last && { lastSuccessful: last }), ...(window && { window }) }), triggers: (await ctx.store.listTriggers(g.id)).map(triggerToProto) };
  };
  /**
   * Each group's host revisions by host, read once per call (not once per host and group: ListHosts
   * of 10,000 hosts read every group's table 10,000 times).
   */
  const revisionIndex = async () => mapSeq(await ctx.store.listGroups(), async g => ({ g, byHost: new Map((await ctx.store.hostRevisions(g.id)).map(r => [r.hostId, r])) }));
  /** A host's HostInfo; `host` is its id, or its row already read (ListHosts: no second read per host). */
  const hostView = async (host: string | Host, revoked?: ReadonlySet<string>, index?: Awaited<ReturnType<typeof revisionIndex>>) => {
    const id = typeof host === 'string' ? host : host.id;
    const h = typeof host === 'string' ? await ctx.store.getHost(id) : host;
    if (!h) throw new FerryError('NOT_FOUND', `host ${id} is not registered; see ferry hosts list`);
    const revisions = (index ?? await revisionIndex()).flatMap(({ g, byHost }) => {
      const r = byHost.get(id);
      return r ? [{ groupId: g.id, groupName: g.name, application: g.application, revision: r.revisionDigest, lastStatus: r.lastStatus }] : [];
    });
    // A host whose certificates are all revoked cannot come back: say so, not "reconnecting".
    const state = (revoked ?? await ctx.store.revokedHostIds()).has(id) && !ctx.registry.isConnected(id) ? 'revoked' : hostStateOf(ctx, h);
    // The newer of the stored time (a registration, a disconnect) and the last heartbeat's, kept in
    // memory until written (scheduler.ts LAST_SEEN_FLUSH_MS).
    const seen = ctx.registry.seenAt(id);
    return { ...hostToProto(seen === undefined || seen <= Date.parse(h.lastSeenAt) ? h : { ...h, lastSeenAt: iso(seen) }, revisions, state, ctx.agentReleases?.forArch(h.facts.arch ?? '')?.version), ...await hostTagsView(ctx, h), alarms: ctx.alarmStates.get(id) ?? [] };
  };
  const refreshReleases = async () => {
    await ctx.agentReleases?.refresh().catch(err => ctx.log.warn('cannot read the agent binaries served', { component: 'agent-downloads', reason: describeError(err) }));
  };

  return {
    ...tokenHandlers(ctx),
    ...cleanupHandlers(ctx),
    RevokeHost: unaryAs(async (req, caller) => ({ hostId: req.id, revoked: await revokeHost(ctx, req.id, caller.id) })),
    SetHostTags: unaryAs(async (req, caller) => {
      await setHostTags(ctx, req.id, req.tags, caller.id);
      // A host enrolled but never registered has no view yet: its grant is all there is.
      return await ctx.store.getHost(req.id) ? await hostView(req.id) : { id: req.id, ...await hostTagsView(ctx, { id: req.id }) };
    }),
    CreateApplication: unary(async req => await createApplication(ctx, req.name)),
    ListApplications: unary(async () => ({ applications: await ctx.store.listApplications() })),
    CreateDeploymentConfig: unary(async req =>
      configToProto(await createConfig(ctx, req.name, { type: req.minimumHealthy?.type ?? '', value: req.minimumHealthy?.value ?? 0 }, req.zonal ? {
        monitorMs: req.zonal.monitorMs, firstZoneMonitorMs: req.zonal.firstZoneMonitorMs,
        minimumHealthyPerZone: { type: req.zonal.minimumHealthyPerZone?.type ?? 'HOST_COUNT', value: req.zonal.minimumHealthyPerZone?.value ?? 0 },
      } : undefined))),
    ListDeploymentConfigs: unary(async () => ({ configs: (await ctx.store.listConfigs()).map(configToProto) })),
    CreateDeploymentGroup: unary(async req => {
      const g = await createGroup(ctx, {
        application: req.application, name: req.name, tagSets: tagSetsFromProto(req.tagSets), configName: req.configName,
        autoRollback: parseAutoRollback(req.autoRollback), alarms: req.alarms, windows: checkWindows(windowsFromProto(req.windows)),
      });
      return await groupView(g.application, g.name);
    }),
    ListDeploymentGroups: unaryAs(async (req, caller) => ({
      groups: await mapSeq(await ctx.store.listGroups(req.application || undefined), async g => triggersFor(caller, await groupView(g.application, g.name))),
    })),
    GetDeploymentGroup: unaryAs(async (req, caller) => triggersFor(caller, await groupView(req.application, req.name))),
    UpdateDeploymentGroup: unary(async req => {
      if (req.setAutoRollback) await setGroupAutoRollback(ctx, req.application, req.name, parseAutoRollback(req.autoRollback));
      if (req.setAlarms) await setGroupAlarms(ctx, req.application, req.name, req.alarms);
      if (req.setRollbackConfig) await setGroupRollbackConfig(ctx, req.application, req.name, req.rollbackConfig);
      if (req.setWindows) await setGroupWindows(ctx, req.application, req.name, windowsFromProto(req.windows));
      if (req.setTagSets) await setGroupTagSets(ctx, req.application, req.name, tagSetsFromProto(req.tagSets));
      if (req.configName) await setGroupConfig(ctx, req.application, req.name, req.configName);
      return await groupView(req.application, req.name);
    }),
    UploadRevision: (call, callback) => void uploadRevision(ctx, call).then(r => callback(null, r), err => callback(toServiceError(err))),
    ListRevisions: unary(async req => {
      if (!await ctx.store.getApplication(req.application)) throw new FerryError('NOT_FOUND', `application ${req.application} does not exist; see ferry app list, or create it with: ferry app create ${req.application}`);
      const holds = await revisionHolds(ctx, req.application);
      return { revisions: (await ctx.store.listRevisions(req.application)).map(r => ({ ...revisionToProto(r), heldBy: holds.get(r.digest) ?? [] })) };
    }),
    CreateDeployment: unaryAs(async (req, caller) => {
      const createdBy = await actorOf(ctx, caller);
      if (req.planId) return detailToProto(await getDeploymentView(ctx, (await createFromPlan(ctx, req, createdBy)).id));
      return detailToProto(await getDeploymentView(ctx, (await createDeployment(ctx, { ...deploymentInput(req), createdBy })).id));
    }),
    GetDeployment: unary(async req => detailToProto(await getDeploymentView(ctx, req.id, { limit: req.hostLimit ?? 0, after: req.hostAfter ?? '' }))),
    ListDeployments: unary(async req => {
      const list = await listDeployments(ctx, { application: req.application, group: req.group, host: req.host, limit: req.limit || 50 });
      return {
        deployments: await mapSeq(list.deployments, async d => deploymentToProto(d, await deploymentWait(ctx, d))),
        hostResults: (list.hostResults ?? []).map(h => hostDeploymentToProto(h, list.hostname ?? h.hostId)),
      };
    }),
    RetryDeployment: unaryAs(async (req, caller) => detailToProto(await getDeploymentView(ctx, (await retryDeployment(ctx, req.id, await actorOf(ctx, caller))).id))),
    // Who did it comes from the credentials (actorOf), never from the client's requested_by.
    StopDeployment: unaryAs(async (req, caller) => {
      await stopDeployment(ctx, req.id, { by: await actorOf(ctx, caller), reason: req.reason, rollback: req.rollback });
      return detailToProto(await getDeploymentView(ctx, req.id));
    }),
    PauseDeployment: unaryAs(async (req, caller) => detailToProto(await getDeploymentView(ctx, (await pauseDeployment(ctx, req.id, await actorOf(ctx, caller))).id))),
    ResumeDeployment: unary(async req => detailToProto(await getDeploymentView(ctx, (await resumeDeployment(ctx, req.id)).id))),
    ApproveDeployment: unary(async req => detailToProto(await getDeploymentView(ctx, (await approveDeployment(ctx, req.id)).id))),
    RejectDeployment: unaryAs(async (req, caller) => detailToProto(await getDeploymentView(ctx, (await rejectDeployment(ctx, req.id, await actorOf(ctx, caller), req.reason)).id))),
    RollbackDeployment: unaryAs(async (req, caller) => detailToProto(await getDeploymentView(ctx, (await manualRollback(ctx, req.id, await actorOf(ctx, caller))).id))),
    RedeployDeployment: unaryAs(async (req, caller) => detailToProto(await getDeploymentView(ctx, (await redeploy(ctx, req.id, await actorOf(ctx, caller))).id))),
    WatchDeployment: call => watchDeployment(ctx, call),
    StreamLogs: call => streamLogs(ctx, call),
    ListHosts: unary(async req => {
      const filter = hostsFilter(req);
      await refreshReleases();
      const revoked = await ctx.store.revokedHostIds();
      // Every host is judged for the summary (in memory: liveness is the registry's); only the page
      // is built into HostInfo (revisions, tags, alarms).
      const summary = { total: 0, connected: 0, reconnecting: 0, lost: 0, revoked: 0, matched: 0 };
      const matched: Host[] = [];
      for (const h of await ctx.store.listHosts()) { // by id
        const state = revoked.has(h.id) && !ctx.registry.isConnected(h.id) ? 'revoked' : hostStateOf(ctx, h);
        summary.total += 1;
        summary[state] += 1;
        if (filter.state && state !== filter.state) continue;
        if (Object.entries(filter.tags).some(([k, v]) => h.tags[k] !== v)) continue;
        summary.matched += 1;
        if (!filter.after || h.id > filter.after) matched.push(h);
      }
      const page = filter.limit > 0 ? matched.slice(0, filter.limit) : matched;
      const index = await revisionIndex();
      return {
        hosts: await mapSeq(page, h => hostView(h, revoked, index)), summary,
        nextAfter: page.length < matched.length ? page[page.length - 1]!.id : '',
      };
    }),
    GetHost: unary(async req => {
      await refreshReleases();
      return await hostView(req.id);
    }),
    UpgradeHosts: unaryAs(async (req, caller) => upgradeHosts(ctx, {
      ...(req.all && { all: true }), ...(req.group && { group: req.group }), ...(req.application && { application: req.application }),
      ...(req.host && { host: req.host }), batch: req.batch || 1, timeoutMs: req.timeoutMs || 300_000, by: await actorOf(ctx, caller),
    })),
    ...eventHandlers(ctx, groupView),
    ...auditHandlers(ctx),
    ...planHandlers(ctx),
    PromoteDeployment: unary(async req => {
      const p = await promote(ctx, { application: req.application, fromGroup: req.fromGroup, toGroup: req.toGroup, options: deploymentOptionsFromProto(req) });
      return { detail: detailToProto(await getDeploymentView(ctx, p.deployment.id)), source: deploymentToProto(p.source) };
    }),
    CreateSchedule: unaryAs(async (req, caller) => scheduleToProto(await createSchedule(ctx, {
      deployment: deploymentInput(req.deployment ?? emptyDeploymentRequest()), at: req.at, cron: req.cron, timezone: req.timezone, requestedBy: await actorOf(ctx, caller),
    }))),
    ListSchedules: unary(async req => ({
      schedules: (await ctx.store.listSchedules({ ...(req.application && { application: req.application }), all: req.all })).map(scheduleToProto),
    })),
    CancelSchedule: unaryAs(async (req, caller) => scheduleToProto(await cancelSchedule(ctx, req.id, await actorOf(ctx, caller)))),
  };
}

function deploymentInput(req: CreateDeploymentRequest__Output): CreateDeploymentInput {
  return { application: req.application, group: req.group, revision: req.revision, ...deploymentOptionsFromProto(req) };
}

function emptyDeploymentRequest(): CreateDeploymentRequest__Output {
  throw new FerryError('INVALID_ARGUMENT', 'CreateSchedule: deployment (application, group, revision) is required');
}

async function uploadRevision(
  ctx: Context,
  call: grpc.ServerReadableStream<UploadRevisionRequest__Output, UploadRevisionResponse>,
): Promise<UploadRevisionResponse> {
  let header: UploadRevisionRequest__Output['header'];
  const upload = await ctx.revisions.begin(ctx.limits.maxRevisionBytes);
  try {
    for await (const msg of call as AsyncIterable<UploadRevisionRequest__Output>) {
      if (msg.header) {
        header = msg.header;
        if (!await ctx.store.getApplication(header.application)) {
          throw new FerryError('NOT_FOUND', `application ${header.application} does not exist; create it with: ferry app create ${header.application}`);
        }
        if (!(BUNDLE_TYPES as readonly string[]).includes(header.bundleType)) {
          throw new FerryError('INVALID_ARGUMENT', `bundle type '${header.bundleType}' is not tar, tgz or zip`);
        }
        // Without the digest a stream cut short would be stored as a (truncated) revision (docs/security.md).
        if (!/^[0-9a-f]{64}$/.test(header.expectedDigest)) {
          throw new FerryError('INVALID_ARGUMENT', 'header.expected_digest: required, the lowercase hex SHA-256 of the whole bundle (ferry revision push sends it)');
        }
      } else if (msg.chunk) {
        if (!header) throw new FerryError('INVALID_ARGUMENT', 'UploadRevision: the first message must be the header');
        await upload.write(msg.chunk);
      }
    }
    if (!header) throw new FerryError('INVALID_ARGUMENT', 'UploadRevision: no header received');
    // A cancelled call ends the message stream as if it were complete: never commit what it sent.
    if (call.cancelled) throw new FerryError('FAILED_PRECONDITION', 'UploadRevision: the upload was cancelled before its end; nothing was stored');
    const { digest, size } = await upload.commit(header.expectedDigest);
    const existed = await ctx.store.getRevision(header.application, digest) !== undefined;
    const revision = await ctx.store.addRevision({
      digest, application: header.application, size, bundleType: header.bundleType as BundleType,
      description: header.description, ...(header.commit && { commit: header.commit }), createdAt: iso(ctx.clock.now()),
    });
    ctx.log.info('revision stored', { component: 'revisions', application: header.application, revision: digest, bytes: size, created: !existed });
    return { revision: revisionToProto(revision), created: !existed };
  } catch (err) {
    await upload.abort();
    throw err;
  }
}

function watchDeployment(ctx: Context, call: grpc.ServerWritableStream<GetDeploymentRequest__Output, DeploymentDetail>): void {
  // One view queued at most: a client that does not read gets the latest state once it does.
  serveStream(call, wake => ctx.changes.onDeployment(call.request.id, wake), async send => {
    const view = await getDeploymentView(ctx, call.request.id);
    send(detailToProto(view));
    return isTerminal(view.deployment) && view.hosts.every(h => SETTLED_HOST_STATUSES.includes(h.status));
  }, { maxQueued: 1, ...(ctx.streams && { limit: ctx.streams }) });
}

function streamLogs(ctx: Context, call: grpc.ServerWritableStream<StreamLogsRequest__Output, LogEntry>): void {
  const { deploymentId, hostId, follow } = call.request;
  let after = Number(call.request.afterSeq) || 0;
  const subscribe = (wake: () => void) => {
    const offLogs = ctx.changes.onLogs(deploymentId, wake);
    const offDeployment = ctx.changes.onDeployment(deploymentId, wake);
    return () => {
      offLogs();
      offDeployment();
    };
  };
  serveStream(call, subscribe, async send => {
    const d = await ctx.store.getDeployment(deploymentId);
    if (!d) throw new FerryError('NOT_FOUND', `deployment ${deploymentId} does not exist; see ferry deploy list`);
    // Read after the terminal check: a line stored in between is still sent before the end.
    const settled = isTerminal(d) && (await ctx.store.listHostDeployments(deploymentId)).every(h => SETTLED_HOST_STATUSES.includes(h.status));
    for (;;) {
      // No more lines than the stream may queue: the client reads them before the next page is read.
      const lines = await ctx.store.listLogs(deploymentId, { ...(hostId && { hostId }), afterSeq: after, limit: QUEUED_MESSAGES });
      let room = true;
      for (const l of lines) {
        room = send({ seq: l.seq, hostId: l.hostId, event: l.event, stream: l.stream, line: l.line, at: l.at });
        after = l.seq;
      }
      if (lines.length < QUEUED_MESSAGES) break;
      if (!room) return false;
    }
    return !follow || settled;
  }, ctx.streams ? { limit: ctx.streams } : {});
}

/**
 * Who made a call, as the credentials say: `token:<id> (<description>)` for an API token,
 * `insecure-local` without TLS. What the client claims (its OS user in requested_by) is not used:
 * anyone could claim anything.
 */
export async function actorOf(ctx: Context, caller: Caller): Promise<string> {
  if (!caller.id.startsWith('token:')) return caller.id;
  const description = (await ctx.store.getToken(caller.id.slice('token:'.length)))?.description.trim();
  return description ? `${caller.id} (${description})` : caller.id;
}
