import { deploymentOptionsFromProto } from './deployment-options.js';
import { FerryError } from '../../common/errors.js';
import type { Context } from '../context.js';
import type { DeploymentPlanRecord } from '../domain/plan.js';
import type { Deployment } from '../domain/types.js';
import type { FileDiff } from '../plan-preview/types.js';
import { RevisionTrees } from '../revisions/revision-tree.js';
import { type PlanDeploymentInput, executePlan, getPlan, planDeployment } from '../services/plans.js';
import type { CreateDeploymentRequest__Output } from '../../proto/gen/ferry/v1/CreateDeploymentRequest.js';
import type { DeploymentPlan } from '../../proto/gen/ferry/v1/DeploymentPlan.js';
import type { GetDeploymentPlanRequest__Output } from '../../proto/gen/ferry/v1/GetDeploymentPlanRequest.js';
import type { PlanDeploymentRequest__Output } from '../../proto/gen/ferry/v1/PlanDeploymentRequest.js';
import type { PlanFileDiff } from '../../proto/gen/ferry/v1/PlanFileDiff.js';
import { unary } from './errors.js';

/** Unpacked size limit when reading revisions for plans (the agent's default bundle limit). */
const PLAN_UNPACK_BYTES = 2 * 1024 ** 3;

/** PlanDeployment and GetDeploymentPlan (thin adapters, docs/design/style.md §5); spread into the ControlService handlers. */
export function planHandlers(ctx: Context) {
  const trees = new RevisionTrees(ctx.revisions, Math.max(PLAN_UNPACK_BYTES, ctx.limits.maxRevisionBytes));
  return {
    PlanDeployment: unary<PlanDeploymentRequest__Output, DeploymentPlan>(async req => {
      if (!req.deployment) throw new FerryError('INVALID_ARGUMENT', 'PlanDeployment: deployment is required');
      if (req.deployment.planId) throw new FerryError('INVALID_ARGUMENT', 'PlanDeployment: plan_id must be empty (a plan cannot be planned)');
      return planToProto(await planDeployment(ctx, trees, planInputFromProto(req.deployment)));
    }),
    GetDeploymentPlan: unary<GetDeploymentPlanRequest__Output, DeploymentPlan>(async req => planToProto(await getPlan(ctx, req.id))),
  };
}

/**
 * CreateDeployment with `plan_id`: every other field that shapes the deployment must be empty
 * (the plan fixes them), else INVALID_ARGUMENT naming them.
 */
export async function createFromPlan(ctx: Context, req: CreateDeploymentRequest__Output, createdBy: string): Promise<Deployment> {
  const set = Object.entries({
    application: req.application, group: req.group, revision: req.revision, config_name: req.configName, description: req.description,
    file_exists_behavior: req.fileExistsBehavior, ignore_application_stop_failures: req.ignoreApplicationStopFailures,
    override_auto_rollback: req.overrideAutoRollback, has_approve_after: req.hasApproveAfter, ignore_alarms: req.ignoreAlarms,
    min_healthy_time_ms: req.minHealthyTimeMs, approve_after_zones: req.approveAfterZones,
  }).filter(([, v]) => v !== '' && v !== false && v !== 0).map(([k]) => k);
  if (set.length > 0) {
    throw new FerryError('INVALID_ARGUMENT', `with plan_id the plan fixes the deployment; leave ${set.join(', ')} empty`);
  }
  return await executePlan(ctx, req.planId, createdBy);
}

export function planInputFromProto(req: CreateDeploymentRequest__Output): PlanDeploymentInput {
  return { application: req.application, group: req.group, revision: req.revision, ...deploymentOptionsFromProto(req) };
}

const minimumToProto = (m: { type: string; value?: number }) => ({ type: m.type, value: m.value ?? 0 });

function diffToProto(d: FileDiff): PlanFileDiff {
  return { added: d.added, changed: d.changed, removed: d.removed, permissions: d.permissions, unchanged: d.unchanged };
}

export function planToProto(p: DeploymentPlanRecord): DeploymentPlan {
  const doc = p.document;
  const o = p.options;
  return {
    id: p.id, application: p.application, groupName: p.groupName, groupId: p.groupId, revision: p.revisionDigest,
    configName: p.configName, minimumHealthy: minimumToProto(doc.minimumHealthy),
    zonal: doc.zonal ? { monitorMs: doc.zonal.monitorMs, firstZoneMonitorMs: doc.zonal.firstZoneMonitorMs, minimumHealthyPerZone: minimumToProto(doc.zonal.minimumHealthyPerZone) } : null,
    hosts: doc.hosts.map(h => ({
      hostId: h.hostId, hostname: h.hostname, zone: h.zone ?? '', wave: h.wave,
      currentRevision: h.current?.digest ?? '', currentStatus: h.current?.lastStatus ?? '', changeKey: h.changeKey,
    })),
    waves: doc.waves.map(w => ({ index: w.index, zone: w.zone ?? '', hostIds: w.hostIds })),
    changes: doc.changes.map(c => ({
      key: c.key, fromRevision: c.fromRevision, notes: c.notes, diff: c.diff ? diffToProto(c.diff) : null,
      hooks: c.hooks.map(h => ({ event: h.event, source: h.source, revision: h.revision, scripts: h.scripts.map(s => ({ location: s.location, timeoutSeconds: s.timeoutSeconds, runas: s.runas ?? '' })) })),
    })),
    failure: doc.failure ?? '', notes: doc.notes, windows: doc.windows, fingerprint: p.fingerprint,
    createdAt: p.createdAt, expiresAt: p.expiresAt, usedBy: p.usedBy ?? '',
    options: {
      application: p.application, group: p.groupName, revision: p.revisionDigest, configName: p.configName,
      description: o.description, fileExistsBehavior: o.fileExistsBehavior, ignoreApplicationStopFailures: o.ignoreApplicationStopFailures,
      autoRollback: o.autoRollback ?? [], overrideAutoRollback: o.autoRollback !== undefined,
      approveAfter: o.approveAfter ?? 0, hasApproveAfter: o.approveAfter !== undefined, ignoreAlarms: o.ignoreAlarms ?? false,
      minHealthyTimeMs: o.minHealthyTimeMs ?? 0, approveAfterZones: o.approveAfterZones ?? 0, planId: '',
    },
  };
}
