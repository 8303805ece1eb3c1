import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import type { ZonalConfig, ZonalConfig__Output } from '../../proto/gen/ferry/v1/ZonalConfig.js';
import { parseDuration, parseMinHealthy, requireText } from '../args.js';
import { formatMinHealthy, formatTime, table } from '../format.js';
import type { Runner } from '../session.js';

export function registerConfigCommands(program: Command, r: Runner): void {
  const config = program
    .command('config')
    .description('deployment configs: how many hosts must stay healthy during a deployment')
    .addHelpText('after', '\nExamples:\n  ferry config create TwoAtATime --min-healthy 2\n  ferry config list');

  r.action(
    r
      .leaf(config, 'create <name>', 'create a deployment config', [
        'ferry config create KeepTwo --min-healthy 2        # HOST_COUNT: at least 2 hosts stay healthy',
        'ferry config create Quarter --min-healthy 75%      # FLEET_PERCENT: 75% of the hosts stay healthy',
        'ferry config create ByZone --min-healthy 2 --zonal --zone-monitor 10m --first-zone-monitor 30m --min-healthy-per-zone 1',
      ])
      .requiredOption('--min-healthy <n|p%>', 'minimum healthy hosts: a host count (2) or a fleet percentage (75%)')
      .option('--zonal', 'zonal rollout: one zone (the agents\' --zone) at a time, by zone name, hosts without a zone last')
      .option('--zone-monitor <duration>', 'with --zonal: wait this long after a zone finished before the next one (default 0)')
      .option('--first-zone-monitor <duration>', 'with --zonal: the wait after the first zone (default: --zone-monitor)')
      .option('--min-healthy-per-zone <n|p%>', 'with --zonal: hosts of the current zone that stay healthy (default 0)'),
    async (s, [name], opts) => {
      const minimumHealthy = parseMinHealthy(String(opts.minHealthy));
      const zonal = zonalFlags(opts);
      const created = await s.api().createDeploymentConfig({ name: requireText(name, 'NAME'), minimumHealthy, ...(zonal && { zonal }) });
      if (s.out.json) return s.out.document(created);
      s.out.line(`created deployment config ${created.name}: minimum healthy ${formatMinHealthy(created.minimumHealthy)}${created.zonal ? `; ${formatZonal(created.zonal)}` : ''}`);
    },
  );

  r.action(
    r.leaf(config, 'list', 'list deployment configs, the built-in ones (OneAtATime, HalfAtATime, AllAtOnce) included', [
      'ferry config list',
      'ferry config list --json',
    ]),
    async s => {
      const res = await s.api().listDeploymentConfigs();
      if (s.out.json) return s.out.document(res);
      const rows = res.configs.map(c => [
        c.name,
        formatMinHealthy(c.minimumHealthy),
        c.zonal ? formatZonal(c.zonal) : '-',
        c.builtIn ? 'built-in' : 'custom',
        c.builtIn ? '' : formatTime(c.createdAt, s.config.zone),
      ]);
      s.out.lines(table(['NAME', 'MINIMUM HEALTHY', 'ZONAL', 'KIND', 'CREATED'], rows));
    },
  );
}

const ZONAL_FLAGS = [['zoneMonitor', '--zone-monitor'], ['firstZoneMonitor', '--first-zone-monitor'], ['minHealthyPerZone', '--min-healthy-per-zone']] as const;

/** `--zonal` and its settings; the settings without `--zonal` are a usage error. */
export function zonalFlags(opts: Record<string, unknown>): ZonalConfig | undefined {
  if (opts.zonal !== true) {
    const stray = ZONAL_FLAGS.find(([key]) => opts[key] !== undefined);
    if (stray) throw new FerryError('INVALID_ARGUMENT', `${stray[1]}: only with --zonal`);
    return undefined;
  }
  const monitorMs = opts.zoneMonitor === undefined ? 0 : parseDuration(String(opts.zoneMonitor), '--zone-monitor');
  const firstZoneMonitorMs = opts.firstZoneMonitor === undefined ? monitorMs : parseDuration(String(opts.firstZoneMonitor), '--first-zone-monitor');
  const minimumHealthyPerZone = opts.minHealthyPerZone === undefined
    ? { type: 'HOST_COUNT', value: 0 }
    : parseMinHealthy(String(opts.minHealthyPerZone), '--min-healthy-per-zone');
  return { monitorMs, firstZoneMonitorMs, minimumHealthyPerZone };
}

function formatZonal(z: ZonalConfig__Output): string {
  const secs = (ms: number) => `${ms / 1000}s`;
  return `zonal, monitor ${secs(z.monitorMs)} (first zone ${secs(z.firstZoneMonitorMs)}), per zone ${formatMinHealthy(z.minimumHealthyPerZone)}`;
}
