#!/usr/bin/env node
// `npm run demo`: Ferry's main job end to end on this machine. It starts a coordinator on a free
// loopback port with a temp data dir and three agents as separate processes (zones a, b, c),
// pushes hooks-examples/sample-app, deploys it with HalfAtATime while showing live progress,
// then deploys v2 — whose first hooks are v1's ApplicationStop — and stops everything it started.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = name => path.join(repo, 'bin', name);
const work = mkdtempSync(path.join(os.tmpdir(), 'ferry-demo-'));
const children = [];
const bold = s => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = text => process.stdout.write(`\n${bold(`== ${text}`)}\n`);

function start(name, args) {
  const log = path.join(work, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd] });
  children.push(child);
  return { child, log };
}

function stopAll() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

let coordinator = '';
function ferry(args, { quiet = false } = {}) {
  const r = spawnSync(process.execPath, [bin('ferry'), ...args], {
    env: { ...process.env, FERRY_COORDINATOR: coordinator },
    stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    if (quiet) process.stderr.write(r.stdout + r.stderr);
    throw new Error(`ferry ${args.join(' ')} exited ${r.status}`);
  }
  return quiet ? r.stdout : '';
}

async function waitFor(what, fn, ms = 20_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main() {
  say('Starting a coordinator and three agents');
  const c = start('coordinator', [bin('ferry-coordinator'), '--data', path.join(work, 'data'), '--listen', '127.0.0.1:0', '--insecure', '--log-level', 'warn']);
  coordinator = await waitFor('the coordinator', async () => {
    const { readFileSync } = await import('node:fs');
    return /listening on (\S+)/.exec(readFileSync(c.log, 'utf8'))?.[1];
  });
  process.stdout.write(`coordinator on ${coordinator}, data in ${path.join(work, 'data')}\n`);
  const hosts = ['a', 'b', 'c'].map(zone => ({ id: `host-${zone}`, zone }));
  for (const h of hosts) {
    start(h.id, [bin('ferry-agent'), 'start', '--coordinator', coordinator, '--root-dir', path.join(work, h.id),
      '--host-id', h.id, '--tag', 'role=web', '--tag', 'app=sample', '--zone', h.zone, '--heartbeat-interval', '1s']);
  }
  await waitFor('the agents to connect', () => {
    const list = JSON.parse(ferry(['hosts', 'list', '--json'], { quiet: true })).hosts ?? [];
    return hosts.every(h => list.some(x => x.id === h.id && x.connected));
  });
  ferry(['hosts', 'list']);

  say('Creating the application and a deployment group (hosts tagged role=web, HalfAtATime)');
  ferry(['app', 'create', 'sample-app']);
  ferry(['group', 'create', '--app', 'sample-app', '--name', 'web', '--tag-set', 'role=web', '--config', 'HalfAtATime']);

  say('Pushing hooks-examples/sample-app (v1) and deploying it');
  const v1 = JSON.parse(ferry(['revision', 'push', path.join(repo, 'hooks-examples', 'sample-app'), '--app', 'sample-app', '--description', 'v1', '--json'], { quiet: true })).revision.digest;
  process.stdout.write(`revision v1 ${v1}\n`);
  // The three "hosts" share this machine's /tmp/ferry-sample-app, so the demo lets them
  // overwrite each other's files; on real servers the default (DISALLOW) is what you want.
  ferry(['deploy', 'create', '--app', 'sample-app', '--group', 'web', '--revision', v1, '--file-exists-behavior', 'OVERWRITE', '--description', 'demo v1', '--wait']);

  say('Pushing v2 and deploying it: each host runs v1\'s ApplicationStop first');
  const v2dir = path.join(work, 'sample-app-v2');
  cpSync(path.join(repo, 'hooks-examples', 'sample-app'), v2dir, { recursive: true });
  writeFileSync(path.join(v2dir, 'app', 'VERSION'), '2\n');
  const v2 = JSON.parse(ferry(['revision', 'push', v2dir, '--app', 'sample-app', '--description', 'v2', '--json'], { quiet: true })).revision.digest;
  process.stdout.write(`revision v2 ${v2}\n`);
  ferry(['deploy', 'create', '--app', 'sample-app', '--group', 'web', '--revision', v2, '--file-exists-behavior', 'OVERWRITE', '--description', 'demo v2', '--wait']);
  const id = JSON.parse(ferry(['deploy', 'list', '--app', 'sample-app', '--json'], { quiet: true })).deployments[0].id;

  say(`The hook output of ${id} on host-a, kept on the coordinator (ferry deploy logs)`);
  ferry(['deploy', 'logs', id, '--host', 'host-a']);
  say(`Every host and event (ferry deploy status ${id})`);
  ferry(['deploy', 'status', id]);

  say('Where to look');
  process.stdout.write(`  coordinator data     ${path.join(work, 'data')} (ferry.db, revisions/, logs/)
  agent root dirs      ${hosts.map(h => path.join(work, h.id)).join('\n                       ')}
  process logs         ${work}/*.log
  installed files      /tmp/ferry-sample-app (VERSION is now 2)
Run one yourself:     ferry-coordinator --data ./data --insecure  &&  ferry-agent start --coordinator 127.0.0.1:7420 --tag role=web
                      (--insecure: plaintext on loopback, as here; without it the coordinator serves TLS)
`);
}

main().then(
  async () => {
    stopAll();
    await Promise.all(children.map(ch => (ch.exitCode === null ? new Promise(r => ch.on('exit', r)) : undefined)));
    say('Demo finished: everything it started has stopped');
    process.exit(0);
  },
  err => {
    process.stderr.write(`\ndemo failed: ${err.message}\nlogs in ${work}\n`);
    stopAll();
    process.exit(1);
  },
);
