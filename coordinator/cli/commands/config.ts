import type { Command } from 'commander';
import { parseMinHealthy, requireText } from '../args.js';
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
      ])
      .requiredOption('--min-healthy <n|p%>', 'minimum healthy hosts: a host count (2) or a fleet percentage (75%)'),
    async (s, [name], opts) => {
      const minimumHealthy = parseMinHealthy(String(opts.minHealthy));
      const created = await s.api().createDeploymentConfig({ name: requireText(name, 'NAME'), minimumHealthy });
      if (s.out.json) return s.out.document(created);
      s.out.line(`created deployment config ${created.name}: minimum healthy ${formatMinHealthy(created.minimumHealthy)}`);
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
        c.builtIn ? 'built-in' : 'custom',
        c.builtIn ? '' : formatTime(c.createdAt),
      ]);
      s.out.lines(table(['NAME', 'MINIMUM HEALTHY', 'KIND', 'CREATED'], rows));
    },
  );
}
