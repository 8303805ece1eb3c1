import type { FileExistsBehavior } from '../../common/appspec/types.js';
import { FerryError, describeError } from '../../common/errors.js';
import type { DeploymentConfig } from '../domain/types.js';
import type { RevisionHealth } from '../planner/rules.js';
import { diffInstalled } from './diff.js';
import { type PreviousRevision, plannedHooks } from './hooks.js';
import { installedTree } from './installed.js';
import type { CurrentRevision, InstalledTree, PlannedHost, RevisionChange, RevisionTree, Wave } from './types.js';
import { simulateWaves } from './waves.js';

export interface PlanHostInput {
  hostId: string;
  hostname: string;
  zone?: string;
  current?: CurrentRevision;
}

export interface BuildPlanInput {
  next: RevisionTree;
  /** The trees of the hosts' current revisions, by digest (missing: not in the revision store). */
  previous: ReadonlyMap<string, RevisionTree>;
  hosts: readonly PlanHostInput[];
  config: Pick<DeploymentConfig, 'name' | 'minimumHealthy' | 'zonal'>;
  fileExistsBehavior: FileExistsBehavior;
}

export interface PlanBody {
  /** In dispatch order. */
  hosts: PlannedHost[];
  waves: Wave[];
  /** One per distinct current revision (hosts with the same one share it). */
  changes: RevisionChange[];
  /** Why the rollout would fail even if every host succeeded (no hosts, a minimum too high). */
  failure?: string;
  notes: string[];
}

/**
 * The whole plan (pure): dispatch order and waves from the planner, and per distinct current
 * revision the hooks and the file diff. Throws FAILED_PRECONDITION when the new revision could
 * not be installed anywhere (invalid appspec, a `files:` rule the agent would refuse).
 */
export function buildPlan(input: BuildPlanInput): PlanBody {
  const { next } = input;
  if (!next.spec) {
    throw new FerryError('FAILED_PRECONDITION', `revision ${next.digest.slice(0, 12)} would fail on every host: ${next.problems.join('; ') || 'no valid appspec'}`);
  }
  const spec = next.spec;
  let after: InstalledTree;
  try {
    after = installedTree(spec, next, input.fileExistsBehavior);
  } catch (err) {
    throw new FerryError('FAILED_PRECONDITION', `revision ${next.digest.slice(0, 12)} would fail Install on every host: ${describeError(err)}`, { cause: err });
  }
  const sim = simulateWaves(input.hosts.map(h => ({
    hostId: h.hostId, revisionHealth: revisionHealth(h.current, next.digest), ...(h.zone !== undefined && { zone: h.zone }),
  })), input.config);
  const waveOf = new Map(sim.waves.flatMap(w => w.hostIds.map(id => [id, w.index] as const)));
  const byId = new Map(input.hosts.map(h => [h.hostId, h]));
  const changes = new Map<string, RevisionChange>();
  const hosts = sim.order.map(id => {
    const h = byId.get(id)!;
    const key = changeKey(h.current);
    if (!changes.has(key)) changes.set(key, changeFrom(key, input, after));
    return {
      hostId: h.hostId, hostname: h.hostname, ...(h.zone !== undefined && { zone: h.zone }),
      wave: waveOf.get(id) ?? 0, ...(h.current && { current: h.current }), changeKey: key,
    };
  });
  const notes = [
    `files already on a host that this group did not install are not inspected: file_exists_behavior ${spec.fileExistsBehavior ?? input.fileExistsBehavior} decides there`,
  ];
  return { hosts, waves: sim.waves, changes: [...changes.values()], ...(sim.failure && { failure: sim.failure }), notes };
}

/** The scheduler's dispatch-order classes: unhealthy (last deployment failed), unknown, old, current. */
export function revisionHealth(current: CurrentRevision | undefined, nextDigest: string): RevisionHealth {
  if (!current) return 'unknown';
  if (current.lastStatus === 'Failed') return 'unhealthy';
  return current.digest === nextDigest ? 'current' : 'old';
}

export function changeKey(current: CurrentRevision | undefined): string {
  if (!current) return 'none';
  return current.installed ? current.digest : 'unknown';
}

function changeFrom(key: string, input: BuildPlanInput, after: InstalledTree): RevisionChange {
  const next = { digest: input.next.digest, spec: input.next.spec! };
  if (key === 'none') {
    return { key, fromRevision: '', hooks: plannedHooks({ type: 'none' }, next), diff: diffInstalled(new Map(), after),
      notes: ['first install of this group on these hosts: no ApplicationStop, every file is added'] };
  }
  if (key === 'unknown') {
    return { key, fromRevision: '', hooks: plannedHooks({ type: 'unknown' }, next),
      notes: ['the last deployment to these hosts failed before Install: they still run an earlier revision the coordinator did not record, so no file diff'] };
  }
  const old = input.previous.get(key);
  const notes: string[] = [];
  let previous: PreviousRevision = { type: 'known', digest: key };
  let diff;
  if (!old) {
    notes.push(`revision ${key.slice(0, 12)} is not in the revision store: its hooks and files are not known`);
  } else if (!old.spec) {
    notes.push(`revision ${key.slice(0, 12)} has no valid appspec (${old.problems.join('; ')}): ApplicationStop would fail ` +
      '(PreviousRevisionUnusable) unless the deployment ignores application stop failures');
  } else {
    previous = { type: 'known', digest: key, spec: old.spec };
    try {
      diff = diffInstalled(installedTree(old.spec, old), after);
    } catch (err) {
      notes.push(`cannot compute what revision ${key.slice(0, 12)} installed: ${describeError(err)}`);
    }
  }
  return { key, fromRevision: key, hooks: plannedHooks(previous, next), ...(diff && { diff }), notes };
}
