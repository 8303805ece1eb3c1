import path from 'node:path';
import t from 'tap';
import { createLogger } from '../../coordinator/log.js';
import { startCoordinator } from '../../coordinator/server.js';
import { hooksFor, pack, writeBundle } from '../helpers/bundle.js';
import { ferry, waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';
import { coordinatorConfig } from '../helpers/coordinator-config.js';

/**
 * The catch-up rule with an injected clock: a real coordinator (in process), real gRPC and SQLite,
 * restarted on the same data dir with the clock moved days ahead. No agent is needed: what is
 * checked is which deployments the schedules create, not how they run.
 */
t.test('a cron schedule that missed several occurrences while the coordinator was down runs once, then on time', async t => {
  const dir = await tempDir(t, 'ferry-catch-up-');
  let now = Date.parse('2026-11-27T01:00:00Z');
  const start = () => startCoordinator(
    coordinatorConfig(path.join(dir, 'data'), { logLevel: 'info', heartbeatIntervalMs: 1000, agentTimeoutMs: 3000 }),
    createLogger({ level: 'info', file: path.join(dir, 'coordinator.log'), console: false }),
    { clock: { now: () => now } },
  );
  let c = await start();
  t.teardown(() => c.stop());
  const cli = async (...args: string[]) => {
    const r = await ferry(c.address, [...args, '--json']);
    t.equal(r.code, 0, `ferry ${args.join(' ')}: ${r.stderr}`);
    return r.json;
  };
  const src = await writeBundle(path.join(dir, 'bundle'), { appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ValidateService']) }, scripts: { 'scripts/ValidateService.sh': 'true' } });
  await cli('app', 'create', 'shop');
  await cli('group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web');
  await cli('revision', 'push', pack(src, path.join(dir, 'v1.tgz'), 'tgz'), '--app', 'shop');
  // The CLI checks --at against its own clock: the cron path is the one driven by the fake clock here.
  const nightly = await cli('schedule', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest', '--cron', '0 2 * * *', '--description', 'nightly');
  t.equal(nightly.nextRunAt, '2026-11-27T02:00:00.000Z');
  const fromSchedule = async () => (await cli('deploy', 'list', '--app', 'shop')).deployments.filter((d: any) => d.scheduleId === nightly.id);

  await c.stop();
  now = Date.parse('2026-11-30T03:00:00Z'); // 27, 28, 29 and 30 November at 02:00 all missed
  c = await start();
  const runs = await waitFor('the catch-up run', async () => {
    const list = await fromSchedule();
    return list.length > 0 && list;
  });
  t.equal(runs.length, 1, 'one run for four missed occurrences');
  t.match(runs[0], { creator: 'schedule', description: 'nightly' });
  const [after] = (await cli('schedule', 'list')).schedules;
  t.match(after, { state: 'Active', lastRunAt: '2026-11-30T03:00:00.000Z', nextRunAt: '2026-12-01T02:00:00.000Z', lastDeploymentId: runs[0].id });

  now = Date.parse('2026-12-01T02:00:20Z');
  const next = await waitFor('the next run, on time', async () => {
    const list = await fromSchedule();
    return list.length === 2 && list;
  });
  t.equal(next.length, 2);
  t.match((await cli('schedule', 'list')).schedules[0], { nextRunAt: '2026-12-02T02:00:00.000Z' });
  await new Promise(r => setTimeout(r, 1500)); // more scheduler passes at the same time
  t.equal((await fromSchedule()).length, 2, 'an occurrence runs once, however many passes see it');
});
