import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startFleet } from '../helpers/fleet-fixture.js';
import { ferry, waitFor, waitForHosts } from '../helpers/fleet.js';

/** Records every module the agent loads (test/helpers/record-loads.ts), beside this file's compiled twin. */
const PRELOAD = fileURLToPath(new URL('../helpers/record-loads.js', import.meta.url));

/**
 * What a connected, idle `ferry-agent start` must not have loaded: the deployment path (the
 * executor, appspec parsing, the tar and zip readers), the install planner, the AWS agent config
 * reader, the metrics (without --metrics-listen) and systeminformation (no health alarm set).
 */
const NOT_AT_IDLE = [
  '/node_modules/systeminformation/', '/node_modules/prom-client/', '/node_modules/tar/', '/node_modules/yauzl/',
  '/dist/agent/lifecycle/executor.js', '/dist/common/appspec/parse.js', '/dist/common/bundle/tar-bundle.js',
  '/dist/common/bundle/zip-bundle.js', '/dist/agent/metrics.js', '/dist/ops/install/plan.js', '/dist/ops/install/facts.js',
  '/dist/agent/local/aws-config.js',
];
/** What the first deployment of a tgz bundle loads. */
const AT_DEPLOY = ['/dist/agent/lifecycle/executor.js', '/dist/common/appspec/parse.js', '/dist/common/bundle/tar-bundle.js', '/node_modules/tar/'];

const loaded = async (file: string) => (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean);
/**
 * What `node --trace-opt` prints when V8 optimizes a function. The agent keeps every function in the
 * interpreter (agent/v8-flags.ts, `--max-opt=0`): one optimization touches megabytes of the node
 * binary's compiler code that then stay resident (bench/README.md, "idle footprint"). V8 decides to
 * optimize by how much a function has run, not by time, so this holds on a busy machine too.
 */
const OPTIMIZED = /\(target (TURBOFAN|MAGLEV)\)/g;
/**
 * `node --trace-gc`'s line for a collection asked for by `gc()`: the agent collects once a few seconds
 * after it registers and after each deployment it reports (agent/settle.ts), so start-up's and a
 * deployment's garbage does not keep an idle agent's memory up until its next collection.
 */
const SETTLED = /Mark-Compact .* testing; GC in old space requested/g;
const settles = (output: string) => output.match(SETTLED)?.length ?? 0;
const matching = (files: string[], part: string) => files.filter(f => f.split(path.sep).join('/').includes(part));

t.test('a connected idle agent has not loaded the deployment path, metrics or systeminformation, nor optimized a function, and has collected its start-up garbage; its first deployment loads what it needs, succeeds, optimizes nothing either, and is collected after (mount namespace)', async t => {
  const f = await startFleet(t, [], { config: 'AllAtOnce' });
  const loads = path.join(f.dir, 'agent-loads.txt');
  const agent = await f.addAgent('h1', { role: 'web' }, undefined, [], { env: { FERRY_RECORD_LOADS: loads }, nodeArgs: ['--trace-opt', '--trace-gc', '--import', PRELOAD] });
  await waitForHosts(f.coordinator.address, ['h1']);
  t.same(agent.output().match(OPTIMIZED), null, 'no function optimized by the time the agent is connected');
  await waitFor('the agent to collect its start-up garbage once it is registered', () => settles(agent.output()) >= 1, 20_000);
  const idle = await loaded(loads);
  t.ok(matching(idle, '/dist/agent/start/daemon.js').length === 1, 'the recorder saw the agent start (its daemon module)');
  t.ok(matching(idle, '/node_modules/@grpc/grpc-js/').length > 0, 'and the gRPC it connects with');
  for (const part of NOT_AT_IDLE) t.same(matching(idle, part), [], `not loaded while idle: ${part}`);

  const settledBefore = settles(agent.output());
  const digest = await f.push(await f.bundle('v1'));
  const r = await ferry(f.coordinator.address, ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', digest, '--wait', '--json'], { timeoutMs: 90_000 });
  t.equal(r.code, 0, r.stderr.slice(-400));
  t.equal(r.json?.deployment?.status, 'Succeeded');
  await waitFor('ValidateService to record the installed files', async () => (await f.files('h1')) !== '');
  t.match(await f.files('h1'), /^only-v1\.txt version\.txt [0-9a-f]{16}$/, 'the bundle\'s files are installed');
  const after = await loaded(loads);
  for (const part of AT_DEPLOY) t.ok(matching(after, part).length > 0, `loaded by the deployment: ${part}`);
  for (const part of ['/node_modules/systeminformation/', '/node_modules/prom-client/']) t.same(matching(after, part), [], `still not loaded: ${part}`);
  t.same(agent.output().match(OPTIMIZED), null, 'nor by the deployment');
  await waitFor('the agent to collect once more after reporting the deployment', () => settles(agent.output()) > settledBefore, 20_000);
});
