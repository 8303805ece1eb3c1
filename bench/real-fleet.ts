import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type Proc, privateDirsUnavailable, startAgent, waitFor } from '../test/helpers/fleet.js';
import { cpuMsOf, cpuPctOver, lostHosts, rssMiBOf, waitVerdict } from './fleet.js';
import { fmt, push, startEnv, withCoordinatorOutput } from './lib.js';

/**
 * `npm run bench -- real-fleet --agents N`: N real `ferry-agent start` processes (each its own root
 * dir, and its own tmpfs for the app dir, as on separate hosts; heartbeats at the default 5 s) on
 * loopback deploy one AllAtOnce bundle of 4 hooks that record what they ran and what was installed.
 * Checked: the deployment and every host Succeeded, every host's hooks ran and its installed files
 * are the bundle's, no host was declared lost. Timed: create → verdict, against a baseline from the
 * same run: bash running the same 4 hook scripts for N hosts, all N in parallel. Reported: the
 * coordinator's RSS and CPU idle with the fleet and over the deployment, the agents' mean idle RSS
 * and CPU (RSS also as a ratio to an empty `node` measured at the same moment: the floor any Node
 * program starts from here), their RSS again 20 s after the deployment, the load average.
 */
const HOOKS = ['BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];

/** Each hook appends its event to $PROOF_DIR/$HOST_LABEL; ValidateService also lists and hashes the files installed under $APP_DIR/www. */
function hookBody(event: string): string {
  const files = '(cd "$APP_DIR/www" && echo "$(ls | sort | tr \'\\n\' \' \')$(cat $(ls | sort) | sha256sum | cut -c1-16)") > "$PROOF_DIR/$HOST_LABEL.files"';
  return `echo "$LIFECYCLE_EVENT" >> "$PROOF_DIR/$HOST_LABEL"${event === 'ValidateService' ? `\n${files}` : ''}`;
}

/** What ValidateService must print for the bundle's two files. */
async function expectedFiles(www: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('/bin/bash', ['-c', 'cd "$1" && echo "$(ls | sort | tr \'\\n\' \' \')$(cat $(ls | sort) | sha256sum | cut -c1-16)"', 'sh', www], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', b => (out += String(b)));
    c.on('exit', code => (code === 0 ? resolve(out.trim()) : reject(new Error(`listing ${www} exited ${code}`))));
  });
}

/** The same hook scripts, for `hosts` hosts all in parallel, each host's 4 in order, with bash (the baseline). */
async function bashBaseline(scripts: string[], hosts: number, env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: hosts }, async (_, i) => {
    for (const [k, s] of scripts.entries()) {
      await new Promise<void>((resolve, reject) => {
        const c = spawn('/bin/bash', [s], { stdio: 'ignore', env: { ...env, HOST_LABEL: `base${i}`, LIFECYCLE_EVENT: HOOKS[k]! } });
        c.on('exit', code => (code === 0 ? resolve() : reject(new Error(`${s} exited ${code}`))));
      });
    }
  }));
  return performance.now() - t0;
}

/** A tgz of www/ (two files, installed into `destination`: each agent's own tmpfs) and the 4 recording hooks. */
async function appBundle(dir: string, destination: string): Promise<string> {
  await fs.mkdir(path.join(dir, 'www'), { recursive: true });
  await fs.mkdir(path.join(dir, 'scripts'), { recursive: true });
  await fs.writeFile(path.join(dir, 'www', 'version.txt'), 'v1\n');
  await fs.writeFile(path.join(dir, 'www', 'index.html'), '<p>real fleet</p>\n');
  let spec = `version: 0.0\nos: linux\nfiles:\n  - source: www\n    destination: ${destination}\nhooks:\n`;
  for (const event of HOOKS) {
    await fs.writeFile(path.join(dir, 'scripts', `${event}.sh`), `#!/bin/bash\n${hookBody(event)}\n`, { mode: 0o755 });
    spec += `  ${event}:\n    - location: scripts/${event}.sh\n`;
  }
  await fs.writeFile(path.join(dir, 'appspec.yml'), spec);
  execFileSync('tar', ['-czf', `${dir}.tgz`, '-C', dir, '.']);
  return `${dir}.tgz`;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** An empty `node` that stays up (the RSS baseline), stopped at `cleanup`. */
function emptyNode(cleanup: { teardown(fn: () => unknown): void }): number {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 5000)'], { stdio: 'ignore' });
  cleanup.teardown(() => c.kill('SIGKILL'));
  return c.pid!;
}

/** `agents idle: RSS mean …` for the agents' processes, against the empty node's RSS read at the same moment. */
function agentsRss(what: string, procs: Proc[], emptyPid: number): string {
  const rss = procs.map(p => rssMiBOf(p.child.pid!));
  const empty = rssMiBOf(emptyPid);
  const sorted = [...rss].sort((x, y) => x - y);
  const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]!;
  const maxAt = rss.indexOf(sorted[sorted.length - 1]!);
  const over = rss.filter(x => x >= 60).length;
  return `${what}: RSS mean ${mean(rss).toFixed(1)} MiB (min ${sorted[0]!.toFixed(1)}, 95th percentile ${p95.toFixed(1)}, max ${sorted[sorted.length - 1]!.toFixed(1)} (agent ${maxAt + 1} of ${rss.length}); ${over} at 60 MiB or more) = ${(mean(rss) / empty).toFixed(2)}× an empty node's ${empty.toFixed(1)} MiB`;
}

export async function realFleetBench(agents: number, report: (line: string) => void): Promise<void> {
  const unavailable = privateDirsUnavailable();
  if (unavailable) throw new Error(unavailable);
  const env = await startEnv('real-fleet');
  const pid = env.coordinator.child.pid!;
  try {
    const proofDir = path.join(env.dir, 'proof');
    const appDir = path.join(env.dir, 'app');
    await fs.mkdir(proofDir, { mode: 0o777 });
    await fs.mkdir(appDir);
    const baseRss = rssMiBOf(pid);
    const emptyPid = emptyNode(env.cleanup);
    // Started 10 at a time (each start costs ~0.5 s of CPU on a 2-core machine), the default 5 s heartbeat.
    const t0 = performance.now();
    const procs: Proc[] = [];
    for (let i = 0; i < agents; i += 10) {
      const batch = Array.from({ length: Math.min(10, agents - i) }, (_, k) => `r${i + k}`);
      procs.push(...await Promise.all(batch.map(id => startAgent(env.cleanup, {
        coordinator: env.coordinator.address, rootDir: path.join(env.dir, 'agents', id), hostId: id, tags: { role: 'real' },
        args: ['--log-level', 'warn', '--heartbeat-interval', '5s'], env: { HOST_LABEL: id, PROOF_DIR: proofDir, APP_DIR: appDir }, privateDirs: [appDir],
      }))));
      await waitFor(`agents up to r${i + batch.length - 1} to connect`, async () => ((await env.api.listHosts({ limit: 1, state: 'connected' })).summary?.connected ?? 0) >= i + batch.length, 300_000);
    }
    const startMs = performance.now() - t0;
    report(`real-fleet ${agents} real agents started and connected in ${fmt(startMs)} ms (10 at a time); load average ${os.loadavg().map(x => x.toFixed(2)).join(' ')}`);
    await new Promise(r => setTimeout(r, 10_000));
    const agentCpu0 = procs.map(p => cpuMsOf(p.child.pid!));
    const idleCpuPct = await cpuPctOver(pid, 20_000);
    const agentCpuPct = mean(procs.map((p, i) => (100 * (cpuMsOf(p.child.pid!) - agentCpu0[i]!)) / 20_000));
    const idleRss = rssMiBOf(pid);
    report(`           coordinator idle with ${agents} agents: RSS ${idleRss.toFixed(0)} MiB (${(((idleRss - baseRss) * 1024) / agents).toFixed(0)} KiB per agent), CPU ${idleCpuPct.toFixed(1)} % of one core`);
    report(`           ${agentsRss('agents idle', procs, emptyPid)}; CPU mean ${agentCpuPct.toFixed(2)} % of one core over 20 s`);

    await env.api.createApplication({ name: 'real' });
    const bundleDir = path.join(env.dir, 'bundle');
    const packed = await appBundle(bundleDir, path.join(appDir, 'www'));
    const revision = await push(env.api, 'real', packed);
    const want = await expectedFiles(path.join(bundleDir, 'www'));
    await env.api.createDeploymentGroup({ application: 'real', name: 'all', configName: 'AllAtOnce', tagSets: [{ filters: [{ key: 'role', value: 'real', hasKey: true, hasValue: true }] }] });

    const c0 = cpuMsOf(pid);
    const t1 = performance.now();
    const created = await env.api.createDeployment({ application: 'real', group: 'all', revision, fileExistsBehavior: 'OVERWRITE' });
    const id = created.deployment!.id;
    const status = await waitVerdict(env, 'real', 'all', id, 30 * 60_000);
    const verdictMs = performance.now() - t1;
    const deployCpuPct = (100 * (cpuMsOf(pid) - c0)) / verdictMs;
    const deployRss = rssMiBOf(pid);

    const db = new Database(path.join(env.coordinator.dataDir, 'ferry.db'), { readonly: true, fileMustExist: true });
    const rows = db.prepare('SELECT host_id, status FROM host_deployments WHERE deployment_id = ?').all(id) as { host_id: string; status: string }[];
    db.close();
    const succeeded = rows.filter(r => r.status === 'Succeeded').length;
    let hooksOk = 0;
    let filesOk = 0;
    for (let i = 0; i < agents; i++) {
      const ran = (await fs.readFile(path.join(proofDir, `r${i}`), 'utf8').catch(() => '')).trim().split('\n');
      if (ran.join(',') === HOOKS.join(',')) hooksOk++;
      if ((await fs.readFile(path.join(proofDir, `r${i}.files`), 'utf8').catch(() => '')).trim() === want) filesOk++;
    }
    const lost = lostHosts(env).size;
    await new Promise(r => setTimeout(r, 20_000));
    const afterRss = agentsRss('agents 20 s after the deployment', procs, emptyPid);

    const baseDir = path.join(env.dir, 'baseline');
    await fs.mkdir(path.join(baseDir, 'proof'), { recursive: true });
    await fs.cp(path.join(bundleDir, 'www'), path.join(baseDir, 'app', 'www'), { recursive: true });
    const scripts = HOOKS.map(e => path.join(bundleDir, 'scripts', `${e}.sh`));
    const bashMs = await bashBaseline(scripts, agents, { ...process.env, PROOF_DIR: path.join(baseDir, 'proof'), APP_DIR: path.join(baseDir, 'app') });
    const load = os.loadavg().map(x => x.toFixed(2)).join(' ');

    report(`           AllAtOnce no-op (4 hooks, 2 files) to ${agents} agents: ${status} in ${fmt(verdictMs)} ms (create → verdict)`);
    report(`           baseline bash running the same 4 hook scripts for ${agents} hosts in parallel: ${fmt(bashMs)} ms → Ferry ${(verdictMs / bashMs).toFixed(1)}× the baseline`);
    report(`           hosts Succeeded ${succeeded}/${agents}; hooks in order ${hooksOk}/${agents}; installed files as bundled ${filesOk}/${agents}; hosts falsely declared lost ${lost}`);
    report(`           coordinator over the deployment: CPU ${deployCpuPct.toFixed(1)} % of one core, RSS ${deployRss.toFixed(0)} MiB; load average ${load}`);
    report(`           ${afterRss}`);
    if (status !== 'Succeeded' || succeeded !== agents || hooksOk !== agents || filesOk !== agents || lost > 0) {
      throw new Error(`real-fleet: not every host deployed correctly (status ${status}, ${succeeded} Succeeded, ${hooksOk} hooks, ${filesOk} files, ${lost} lost)`);
    }
  } catch (err) {
    throw withCoordinatorOutput(env, err);
  } finally {
    await env.cleanup.run();
  }
}
