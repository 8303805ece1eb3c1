import { createHash } from 'node:crypto';
import type { DeploymentConfig, DeploymentGroup } from '../domain/types.js';

/**
 * What a plan depends on: the group's definition (every field but its creation time, so a field
 * added later, such as deployment windows, counts too), the config's definition, and the matched
 * hosts with the revision each has now. `--from-plan` recomputes it and refuses on any difference.
 */
export interface FingerprintInput {
  group: Record<string, unknown>;
  config: Record<string, unknown>;
  /** Sorted by host id. `revision` '' when the host has nothing of this group. */
  hosts: { hostId: string; revision: string; lastStatus: string }[];
}

export function fingerprintInput(
  group: DeploymentGroup,
  config: DeploymentConfig,
  hosts: readonly { hostId: string; revision?: string; lastStatus?: string }[],
): FingerprintInput {
  const { createdAt: _g, ...definition } = group;
  const { createdAt: _c, builtIn: _b, ...configDefinition } = config;
  return {
    group: definition as Record<string, unknown>,
    config: configDefinition as Record<string, unknown>,
    hosts: hosts
      .map(h => ({ hostId: h.hostId, revision: h.revision ?? '', lastStatus: h.lastStatus ?? '' }))
      .sort((a, b) => (a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0)),
  };
}

/** `sha256:` and the hex digest of the input's canonical JSON (keys sorted at every level). */
export function fingerprint(input: FingerprintInput): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(input)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map(k => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Every difference between the planned and the current inputs, as sentences naming what changed. */
export function explainChanges(planned: FingerprintInput, current: FingerprintInput): string[] {
  const out: string[] = [];
  const was = new Map(planned.hosts.map(h => [h.hostId, h]));
  const now = new Map(current.hosts.map(h => [h.hostId, h]));
  const added = current.hosts.filter(h => !was.has(h.hostId)).map(h => h.hostId);
  const removed = planned.hosts.filter(h => !now.has(h.hostId)).map(h => h.hostId);
  if (added.length > 0) out.push(`hosts added to the group: ${added.join(', ')}`);
  if (removed.length > 0) out.push(`hosts no longer in the group (gone, disconnected or retagged): ${removed.join(', ')}`);
  for (const h of current.hosts) {
    const p = was.get(h.hostId);
    if (!p || (p.revision === h.revision && p.lastStatus === h.lastStatus)) continue;
    out.push(`host ${h.hostId}'s revision changed: ${describeRevision(p)} → ${describeRevision(h)}`);
  }
  for (const key of changedKeys(planned.group, current.group)) {
    out.push(`group ${key} changed: ${show(planned.group[key])} → ${show(current.group[key])}`);
  }
  for (const key of changedKeys(planned.config, current.config)) {
    out.push(`deployment config ${show(current.config['name'] ?? planned.config['name'])} ${key} changed: ${show(planned.config[key])} → ${show(current.config[key])}`);
  }
  return out;
}

function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().filter(k => canonicalJson(a[k]) !== canonicalJson(b[k]));
}

function describeRevision(h: { revision: string; lastStatus: string }): string {
  return h.revision === '' ? 'none' : `${h.revision.slice(0, 12)} (${h.lastStatus})`;
}

function show(v: unknown): string {
  return v === undefined ? 'unset' : typeof v === 'string' ? v : canonicalJson(v);
}
