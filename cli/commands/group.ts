import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import { parseAutoRollbackFlag } from '../deploy-options.js';
import type { DeploymentGroup__Output } from '../../proto/gen/ferry/v1/DeploymentGroup.js';
import type { HostInfo__Output } from '../../proto/gen/ferry/v1/HostInfo.js';
import { parseTagSets, requireText } from '../args.js';
import { NONE, formatAgo, formatTagSets, formatTags, formatTime, keyValues, orNone, shortDigest, table, tagSetFlags , type Zone, UTC } from '../format.js';
import type { Runner } from '../session.js';
import { removedText } from '../cleanup-text.js';
import { registerTriggerCommands, triggerLines } from './group-trigger.js';
import { formatWindow, parseWindowFlags, windowNow, windowPairs } from '../window-flags.js';

const WINDOW_HELP = [
  'ferry group create --app shop --name web --tag-set role=web --window "0 9 * * 1-5" --window-duration 8h --window-timezone Europe/Paris',
  '  # deployments start only 09:00-17:00 Paris time, Monday to Friday; others wait Queued (--ignore-window for emergencies)',
];

const collect = (value: string, previous: string[]) => [...previous, value];

/** `--alarm X` (repeatable), `--alarms "X; Y"` or `--alarms none`, `--no-alarms`: the new alarm list, undefined when not given. Pure. */
export function alarmFlags(repeated: readonly string[], list: string | false | undefined): string[] | undefined {
  if (list === false) {
    if (repeated.length > 0) throw new FerryError('INVALID_ARGUMENT', '--no-alarms: not with --alarm');
    return [];
  }
  if (list === undefined) return repeated.length > 0 ? [...repeated] : undefined;
  if (repeated.length > 0) throw new FerryError('INVALID_ARGUMENT', '--alarms: not with --alarm (give every alarm in one of them)');
  const items = list.split(';').map(a => a.trim()).filter(Boolean);
  if (items.length === 0) throw new FerryError('INVALID_ARGUMENT', '--alarms: give alarm expressions separated by ";", or none');
  return items.length === 1 && items[0]!.toLowerCase() === 'none' ? [] : items;
}

/** `ferry group show`: the group, then the connected hosts its tag sets select now. Pure. */
export function groupLines(g: DeploymentGroup__Output, hosts: readonly HostInfo__Output[], now: number, zone: Zone = UTC): string[] {
  const byId = new Map(hosts.map(h => [h.id, h]));
  const lines = keyValues([
    ['Group', `${g.application}/${g.name}`],
    ['Id', g.id],
    ['Config', orNone(g.configName)],
    ['Tag sets', formatTagSets(g.tagSets)],
    ['As flags', tagSetFlags(g.tagSets).map(f => `--tag-set ${f}`).join(' ') || NONE],
    ['Auto-rollback', g.autoRollback.join(',') || 'none'],
    ['Rollback config', g.rollbackConfig || "the failed deployment's"],
    ['Alarms', g.alarms.length === 0 ? 'none' : g.alarms.join('; ')],
    ...windowPairs(g, zone),
    ['Last successful revision', g.lastSuccessfulRevision ? `${shortDigest(g.lastSuccessfulRevision)} (deployment ${g.lastSuccessfulDeploymentId})` : NONE],
    ['Created', formatTime(g.createdAt, zone)],
  ]);
  lines.push('', `Matching connected hosts: ${g.matchingHostIds.length}`);
  if (g.matchingHostIds.length > 0) {
    const rows = g.matchingHostIds.map(id => {
      const h = byId.get(id);
      return [id, h?.hostname ?? NONE, h ? formatTags(h.tags) : NONE, orNone(h?.zone), h ? formatAgo(h.lastSeenAt, now) : NONE];
    });
    lines.push(...table(['ID', 'HOSTNAME', 'TAGS', 'ZONE', 'LAST SEEN'], rows, '  '));
  }
  lines.push(...triggerLines(g.triggers ?? [], zone));
  return lines;
}

export function registerGroupCommands(program: Command, r: Runner): void {
  const group = program
    .command('group')
    .description('deployment groups: an application\'s target hosts, chosen by tag sets')
    .addHelpText('after', '\nExamples:\n  ferry group create --app shop --name web --tag-set role=web\n  ferry group show --app shop --name web');

  r.action(
    r
      .leaf(group, 'create', 'create a deployment group', [
        'ferry group create --app shop --name web --tag-set role=web',
        'ferry group create --app shop --name prod-web --tag-set role=web,role=api --tag-set env=prod --config HalfAtATime',
        '  # a filter is key, =value or key=value; OR within a --tag-set, AND across them',
        ...WINDOW_HELP,
      ])
      .requiredOption('--app <app>', 'the application')
      .requiredOption('--name <group>', 'the group\'s name')
      .option('--tag-set <filters>', 'comma-separated tag filters (key, =value, key=value) matched with OR; repeat for AND', collect, [])
      .option('--config <config>', 'the deployment config (the coordinator\'s default when not given; see ferry config list)')
      .option('--auto-rollback <events>', 'roll back automatically on failure,alarm,stop (default none)')
      .option('--alarm <expression>', 'a health alarm every host of the group evaluates, e.g. "http GET http://127.0.0.1:8080/health for 30s" (repeatable)', collect, [])
      .option('--window <cron>', 'a deployment window opening whenever this five-field cron expression matches (repeatable)', collect, [])
      .option('--window-duration <duration>', 'how long each window stays open (e.g. 8h, 30m); required with --window')
      .option('--window-timezone <tz>', 'the IANA timezone of the window expressions (default UTC)'),
    async (s, _args, opts) => {
      const tagSets = parseTagSets(opts.tagSet as string[]);
      const windows = parseWindowFlags(opts);
      const created = await s.api().createDeploymentGroup({
        application: requireText(opts.app as string, '--app'),
        name: requireText(opts.name as string, '--name'),
        tagSets,
        configName: (opts.config as string | undefined) ?? '',
        autoRollback: opts.autoRollback === undefined ? [] : parseAutoRollbackFlag(String(opts.autoRollback)),
        alarms: opts.alarm as string[],
        windows: windows ?? [],
      });
      if (s.out.json) return s.out.document(created);
      s.out.line(`created deployment group ${created.application}/${created.name} (${created.id})`);
      s.out.line(`  hosts: ${formatTagSets(created.tagSets)}; ${created.matchingHostIds.length} connected host(s) match now`);
      s.out.line(`  config: ${orNone(created.configName)}`);
      s.out.line(`  auto-rollback: ${created.autoRollback.join(',') || 'none'}`);
      if (created.windows.length > 0) s.out.line(`  windows: ${created.windows.map(formatWindow).join('; ')}; now ${windowNow(created, s.config.zone)}`);
    },
  );

  r.action(
    r
      .leaf(group, 'update', 'change a deployment group\'s settings', [
        'ferry group update --app shop --name web --auto-rollback failure,stop',
        'ferry group update --app shop --name web --auto-rollback none',
        'ferry group update --app shop --name web --auto-rollback failure,alarm --alarms "http GET http://127.0.0.1:8080/health for 30s"',
        'ferry group update --app shop --name web --window "0 2 * * *" --window-duration 4h   # replaces the windows',
        'ferry group update --app shop --name web --no-window   # no windows: deployments start at any time',
        'ferry group update --app shop --name web --tag-set role=web --tag-set env=prod --config HalfAtATime   # replaces the tag sets',
      ])
      .requiredOption('--app <app>', 'the application')
      .requiredOption('--name <group>', 'the group\'s name')
      .option('--auto-rollback <events>', 'roll back automatically on failure,alarm,stop, or none')
      .option('--alarm <expression>', 'replace the group\'s health alarms with these (repeatable)', collect, [])
      .option('--alarms <expressions>', 'replace the group\'s health alarms with these, separated by ";" (none: remove them all)')
      .option('--no-alarms', 'remove every health alarm of the group')
      .option('--rollback-config <config>', 'the deployment config rollbacks of this group use (none: the failed deployment\'s)')
      .option('--window <cron>', 'replace the group\'s deployment windows with these (repeatable; with --window-duration)', collect, [])
      .option('--window-duration <duration>', 'how long each window stays open (e.g. 8h)')
      .option('--window-timezone <tz>', 'the IANA timezone of the window expressions (default UTC)')
      .option('--no-window', 'remove every deployment window of the group')
      .option('--tag-set <filters>', 'replace the group\'s tag sets with these (as group create; repeat for AND); deployments already started keep their hosts', collect, [])
      .option('--config <config>', 'the deployment config of the group\'s next deployments'),
    async (s, _args, opts) => {
      const alarms = alarmFlags(opts.alarm as string[], opts.alarms as string | false | undefined);
      const setAlarms = alarms !== undefined;
      const setRollbackConfig = opts.rollbackConfig !== undefined;
      const clearWindows = opts.window === false;
      if (clearWindows && (opts.windowDuration !== undefined || opts.windowTimezone !== undefined)) {
        throw new FerryError('INVALID_ARGUMENT', '--no-window: not with --window-duration or --window-timezone');
      }
      const windows = clearWindows ? [] : parseWindowFlags(opts);
      const tagSetFlags = opts.tagSet as string[];
      const tagSets = tagSetFlags.length > 0 ? parseTagSets(tagSetFlags) : undefined;
      const configName = opts.config === undefined ? '' : requireText(String(opts.config), '--config');
      if (opts.autoRollback === undefined && !setAlarms && !setRollbackConfig && windows === undefined && !tagSets && !configName) {
        throw new FerryError('INVALID_ARGUMENT', 'give --auto-rollback, --alarm, --alarms, --no-alarms, --rollback-config, --window, --no-window, --tag-set or --config');
      }
      const updated = await s.api().updateDeploymentGroup({
        application: requireText(opts.app as string, '--app'),
        name: requireText(opts.name as string, '--name'),
        autoRollback: opts.autoRollback === undefined ? [] : parseAutoRollbackFlag(String(opts.autoRollback)),
        setAutoRollback: opts.autoRollback !== undefined,
        alarms: alarms ?? [],
        setAlarms,
        rollbackConfig: setRollbackConfig ? String(opts.rollbackConfig) : '',
        setRollbackConfig,
        windows: windows ?? [],
        setWindows: windows !== undefined,
        tagSets: tagSets ?? [],
        setTagSets: tagSets !== undefined,
        configName,
      });
      if (s.out.json) return s.out.document(updated);
      s.out.line(`updated deployment group ${updated.application}/${updated.name}: auto-rollback ${updated.autoRollback.join(',') || 'none'}; alarms: ${updated.alarms.join('; ') || 'none'}`);
      if (tagSets) s.out.line(`  hosts: ${formatTagSets(updated.tagSets)}; ${updated.matchingHostIds.length} connected host(s) match now`);
      if (configName) s.out.line(`  config: ${updated.configName}`);
      if (windows !== undefined) {
        s.out.line(`  windows: ${updated.windows.map(formatWindow).join('; ') || 'none (deployments start at any time)'}${updated.windows.length > 0 ? `; now ${windowNow(updated, s.config.zone)}` : ''}`);
      }
    },
  );

  r.action(
    r
      .leaf(group, 'delete', 'delete a deployment group with its deployment history (and logs), webhook triggers, schedules and plans; refused while one of its deployments has not ended', [
        'ferry group delete --app shop --name staging',
        'ferry group delete --app shop --name staging --json   # {deployments, triggers, schedules, plans, …}: what was removed',
      ])
      .requiredOption('--app <app>', 'the application')
      .requiredOption('--name <group>', 'the group'),
    async (s, _args, opts) => {
      const application = requireText(opts.app as string, '--app');
      const name = requireText(opts.name as string, '--name');
      const removed = await s.api().deleteDeploymentGroup({ application, name });
      if (s.out.json) return s.out.document(removed);
      s.out.line(`deleted deployment group ${application}/${name}: removed ${removedText(removed, false)}`);
      s.out.line('its hosts keep what is installed and stay in other groups their tags match; revisions stay (ferry revision delete)');
    },
  );

  r.action(
    r
      .leaf(group, 'list', 'list an application\'s deployment groups', ['ferry group list --app shop'])
      .requiredOption('--app <app>', 'the application'),
    async (s, _args, opts) => {
      const res = await s.api().listDeploymentGroups({ application: requireText(opts.app as string, '--app') });
      if (s.out.json) return s.out.document(res);
      if (res.groups.length === 0) return s.out.line(`no deployment groups in ${opts.app as string}: create one with ferry group create`);
      const rows = res.groups.map(g => [
        g.name, orNone(g.configName), formatTagSets(g.tagSets), String(g.matchingHostIds.length), shortDigest(g.lastSuccessfulRevision),
      ]);
      // The WINDOW column only when some group has windows.
      if (!res.groups.some(g => g.windows.length > 0)) return s.out.lines(table(['NAME', 'CONFIG', 'TAG SETS', 'HOSTS', 'LAST REVISION'], rows));
      s.out.lines(table(['NAME', 'CONFIG', 'TAG SETS', 'HOSTS', 'LAST REVISION', 'WINDOW'], rows.map((r, i) => [...r, windowNow(res.groups[i]!, s.config.zone)])));
    },
  );

  r.action(
    r
      .leaf(group, 'show', 'show a deployment group: tag sets, config, matching connected hosts, last successful revision, webhook triggers', [
        'ferry group show --app shop --name web',
      ])
      .requiredOption('--app <app>', 'the application')
      .requiredOption('--name <group>', 'the group'),
    async (s, _args, opts) => {
      const api = s.api();
      const g = await api.getDeploymentGroup({ application: requireText(opts.app as string, '--app'), name: requireText(opts.name as string, '--name') });
      if (s.out.json) return s.out.document(g);
      const hosts = g.matchingHostIds.length > 0 ? (await api.listHosts()).hosts : [];
      s.out.lines(groupLines(g, hosts, s.now, s.config.zone));
    },
  );

  registerTriggerCommands(group, r);
}
