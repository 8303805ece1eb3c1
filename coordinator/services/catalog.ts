import { FerryError } from '../../common/errors.js';
import { type Context, iso } from '../context.js';
import { formatTagSets, matchesTagSets } from '../domain/tags.js';
import { sendAlarmsToAll, validateAlarms } from './alarms.js';
import type { DeploymentWindow } from '../domain/windows.js';
import { AUTO_ROLLBACK_EVENTS, type Application, type AutoRollbackEvent, type DeploymentConfig, type DeploymentGroup, type MinimumHealthy, type TagSets, type ZonalConfig } from '../domain/types.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    throw new FerryError('INVALID_ARGUMENT', `${kind} name '${name}' must start with a letter or digit and use only letters, digits, '.', '_' or '-' (at most 100)`);
  }
}

export async function createApplication(ctx: Context, name: string): Promise<Application> {
  checkName('application', name);
  const app = { name, createdAt: iso(ctx.clock.now()) };
  await ctx.store.createApplication(app);
  ctx.log.info('application created', { component: 'catalog', application: name });
  return app;
}

export function validateMinimumHealthy(m: { type: string; value: number }): MinimumHealthy {
  switch (m.type) {
    case 'HOST_COUNT':
      if (!Number.isInteger(m.value) || m.value < 0) throw new FerryError('INVALID_ARGUMENT', `minimum healthy HOST_COUNT must be a whole number ≥ 0, not ${m.value}`);
      return { type: 'HOST_COUNT', value: m.value };
    case 'FLEET_PERCENT':
      if (!Number.isInteger(m.value) || m.value < 0 || m.value > 99) {
        throw new FerryError('INVALID_ARGUMENT', `minimum healthy FLEET_PERCENT must be a whole number from 0 to 99, not ${m.value}`);
      }
      return { type: 'FLEET_PERCENT', value: m.value };
    case 'ONE_AT_A_TIME':
      return { type: 'ONE_AT_A_TIME' };
    default:
      throw new FerryError('INVALID_ARGUMENT', `minimum healthy type '${m.type}' is not HOST_COUNT or FLEET_PERCENT`);
  }
}

export interface ZonalInput {
  monitorMs: number;
  firstZoneMonitorMs: number;
  minimumHealthyPerZone: { type: string; value: number };
}

/** Zonal settings: whole milliseconds; the per-zone minimum a host count or a percentage. */
export function validateZonal(z: ZonalInput): ZonalConfig {
  for (const [key, ms] of [['zone monitor', z.monitorMs], ['first zone monitor', z.firstZoneMonitorMs]] as const) {
    if (!Number.isInteger(ms) || ms < 0) throw new FerryError('INVALID_ARGUMENT', `${key} time must be whole milliseconds ≥ 0, not ${ms}`);
  }
  if (z.minimumHealthyPerZone.type === 'ONE_AT_A_TIME') {
    throw new FerryError('INVALID_ARGUMENT', 'minimum healthy per zone must be a host count or a percentage, not ONE_AT_A_TIME');
  }
  return { monitorMs: z.monitorMs, firstZoneMonitorMs: z.firstZoneMonitorMs, minimumHealthyPerZone: validateMinimumHealthy(z.minimumHealthyPerZone) };
}

export async function createConfig(ctx: Context, name: string, m: { type: string; value: number }, zonal?: ZonalInput): Promise<DeploymentConfig> {
  checkName('deployment config', name);
  const config: DeploymentConfig = {
    name, minimumHealthy: validateMinimumHealthy(m), ...(zonal && { zonal: validateZonal(zonal) }), builtIn: false, createdAt: iso(ctx.clock.now()),
  };
  await ctx.store.createConfig(config);
  ctx.log.info('deployment config created', { component: 'catalog', config: name, zonal: config.zonal !== undefined });
  return config;
}

/** Parses `failure,alarm,stop` / `none` into auto-rollback events. */
export function parseAutoRollback(values: readonly string[]): AutoRollbackEvent[] {
  const list = values.flatMap(v => v.split(',')).map(v => v.trim().toLowerCase()).filter(Boolean);
  if (list.length === 1 && list[0] === 'none') return [];
  const bad = list.filter(v => !(AUTO_ROLLBACK_EVENTS as readonly string[]).includes(v));
  if (bad.length > 0) {
    throw new FerryError('INVALID_ARGUMENT', `auto-rollback: unknown event(s) ${bad.join(', ')}; use ${AUTO_ROLLBACK_EVENTS.join(', ')} or none`);
  }
  return [...new Set(list)] as AutoRollbackEvent[];
}

export async function setGroupAutoRollback(ctx: Context, application: string, name: string, events: AutoRollbackEvent[]): Promise<void> {
  const g = await ctx.store.getGroup(application, name);
  if (!g) throw new FerryError('NOT_FOUND', `application ${application} has no deployment group ${name}; see ferry group list --app ${application}`);
  await ctx.store.setGroupAutoRollback(g.id, events);
  ctx.log.info('auto-rollback set', { component: 'catalog', application, group: name, events: events.join(',') || 'none' });
}

export async function setGroupRollbackConfig(ctx: Context, application: string, name: string, configName: string): Promise<void> {
  const g = await ctx.store.getGroup(application, name);
  if (!g) throw new FerryError('NOT_FOUND', `application ${application} has no deployment group ${name}; see ferry group list --app ${application}`);
  const value = configName === '' || configName === 'none' ? null : configName;
  if (value !== null && !await ctx.store.getConfig(value)) throw new FerryError('NOT_FOUND', `deployment config ${value} does not exist; see ferry config list`);
  await ctx.store.setGroupRollbackConfig(g.id, value);
  ctx.log.info('rollback config set', { component: 'catalog', application, group: name, config: value ?? 'none' });
}

export async function setGroupAlarms(ctx: Context, application: string, name: string, alarms: readonly string[]): Promise<void> {
  const g = await ctx.store.getGroup(application, name);
  if (!g) throw new FerryError('NOT_FOUND', `application ${application} has no deployment group ${name}; see ferry group list --app ${application}`);
  await ctx.store.setGroupAlarms(g.id, validateAlarms(alarms));
  ctx.log.info('alarms set', { component: 'catalog', application, group: name, alarms: alarms.length });
  await sendAlarmsToAll(ctx);
}

export async function createGroup(ctx: Context, input: { application: string; name: string; tagSets: TagSets; configName?: string; autoRollback?: AutoRollbackEvent[]; alarms?: string[]; windows?: DeploymentWindow[] }): Promise<DeploymentGroup> {
  checkName('deployment group', input.name);
  if (!await ctx.store.getApplication(input.application)) {
    throw new FerryError('NOT_FOUND', `application ${input.application} does not exist; create it with: ferry app create ${input.application}`);
  }
  const configName = input.configName || 'OneAtATime';
  if (!await ctx.store.getConfig(configName)) throw new FerryError('NOT_FOUND', `deployment config ${configName} does not exist; see ferry config list`);
  const sets = checkTagSets(input.tagSets);
  const group: DeploymentGroup = {
    id: ctx.ids.group(), application: input.application, name: input.name, tagSets: sets, configName,
    autoRollback: input.autoRollback ?? [], alarms: validateAlarms(input.alarms ?? []), createdAt: iso(ctx.clock.now()),
    ...(input.windows?.length && { windows: input.windows }),
  };
  await ctx.store.createGroup(group);
  if (group.alarms.length > 0) await sendAlarmsToAll(ctx);
  ctx.log.info('deployment group created', { component: 'catalog', application: group.application, group: group.name, group_id: group.id, tag_sets: formatTagSets(sets) });
  return group;
}

/** A group's tag sets: at least one, at most 3 of 10 filters each (as CodeDeploy); empty sets dropped. */
function checkTagSets(tagSets: TagSets): TagSets {
  const sets = tagSets.filter(s => s.length > 0);
  if (sets.length === 0) throw new FerryError('INVALID_ARGUMENT', 'a deployment group needs at least one --tag-set (e.g. --tag-set role=web)');
  if (sets.length > 3 || sets.some(s => s.length > 10)) {
    throw new FerryError('INVALID_ARGUMENT', 'at most 3 tag sets of 10 filters each (as CodeDeploy)');
  }
  return sets;
}

/** `ferry group update --tag-set …`: the hosts the group's next deployments target (started ones keep theirs). */
export async function setGroupTagSets(ctx: Context, application: string, name: string, tagSets: TagSets): Promise<void> {
  const g = await ctx.store.getGroup(application, name);
  if (!g) throw new FerryError('NOT_FOUND', `application ${application} has no deployment group ${name}; see ferry group list --app ${application}`);
  const sets = checkTagSets(tagSets);
  await ctx.store.setGroupTagSets(g.id, sets);
  ctx.log.info('tag sets set', { component: 'catalog', application, group: name, tag_sets: formatTagSets(sets) });
}

/** `ferry group update --config C`: the deployment config of the group's next deployments. */
export async function setGroupConfig(ctx: Context, application: string, name: string, configName: string): Promise<void> {
  const g = await ctx.store.getGroup(application, name);
  if (!g) throw new FerryError('NOT_FOUND', `application ${application} has no deployment group ${name}; see ferry group list --app ${application}`);
  if (!await ctx.store.getConfig(configName)) throw new FerryError('NOT_FOUND', `deployment config ${configName} does not exist; see ferry config list`);
  await ctx.store.setGroupConfig(g.id, configName);
  ctx.log.info('config set', { component: 'catalog', application, group: name, config: configName });
}

/** Connected hosts the group's tag sets select now. */
export async function matchingHosts(ctx: Context, group: DeploymentGroup): Promise<string[]> {
  return (await ctx.store.listHosts()).filter(h => h.connected && matchesTagSets(h.tags, group.tagSets)).map(h => h.id);
}
