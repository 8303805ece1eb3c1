import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { deployLocal, eventOf, runAgent } from '../helpers/agent-cli.js';
import { hooksFor, writeBundle } from '../helpers/bundle.js';
import { tempDir } from '../helpers/temp.js';

const ALL_SCRIPTED = [
  'BeforeBlockTraffic', 'AfterBlockTraffic', 'ApplicationStop', 'BeforeInstall', 'AfterInstall',
  'ApplicationStart', 'ValidateService', 'BeforeAllowTraffic', 'AfterAllowTraffic',
];

/** A bundle whose every hook appends `<rev>:<event>` to a proof file. */
async function proofBundle(dir: string, rev: string, proof: string, dest: string) {
  return writeBundle(dir, {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'app', destination: dest }], hooks: hooksFor(ALL_SCRIPTED) },
    files: { 'app/version.txt': rev },
    scripts: Object.fromEntries(ALL_SCRIPTED.map(e => [`scripts/${e}.sh`, `echo "${rev}:$LIFECYCLE_EVENT" >> ${proof}`])),
  });
}

t.test('two deployments in a row run v1 stop hooks, then v2 hooks, in lifecycle order', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const proof = path.join(dir, 'proof');
  const dest = path.join(dir, 'www');
  const v1 = await proofBundle(path.join(dir, 'v1'), 'v1', proof, dest);
  const v2 = await proofBundle(path.join(dir, 'v2'), 'v2', proof, dest);

  const first = await deployLocal(root, v1);
  t.equal(first.code, 0, first.stderr);
  t.equal(first.json.status, 'Succeeded');
  for (const e of ['BeforeBlockTraffic', 'AfterBlockTraffic', 'ApplicationStop']) {
    t.equal(eventOf(first.json, e).status, 'Skipped', `${e} is skipped on a first install`);
  }
  t.same((await fs.readFile(proof, 'utf8')).trim().split('\n'),
    ['BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService', 'BeforeAllowTraffic', 'AfterAllowTraffic'].map(e => `v1:${e}`));

  await fs.rm(proof);
  const second = await deployLocal(root, v2);
  t.equal(second.code, 0, second.stderr);
  t.same((await fs.readFile(proof, 'utf8')).trim().split('\n'), [
    'v1:BeforeBlockTraffic', 'v1:AfterBlockTraffic', 'v1:ApplicationStop',
    'v2:BeforeInstall', 'v2:AfterInstall', 'v2:ApplicationStart', 'v2:ValidateService',
    'v2:BeforeAllowTraffic', 'v2:AfterAllowTraffic',
  ]);
  t.equal(await fs.readFile(path.join(dest, 'version.txt'), 'utf8'), 'v2');
  t.same(second.json.events.map((e: any) => e.name), [
    'BeforeBlockTraffic', 'AfterBlockTraffic', 'ApplicationStop', 'DownloadBundle', 'BeforeInstall', 'Install',
    'AfterInstall', 'ApplicationStart', 'ValidateService', 'BeforeAllowTraffic', 'AfterAllowTraffic',
  ]);
  t.ok(second.json.events.every((e: any) => e.status === 'Succeeded'));
});

t.test('scripts see the CodeDeploy environment, a closed stdin, and no Ferry credentials', async t => {
  const dir = await tempDir(t);
  const out = path.join(dir, 'env.txt');
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['AfterInstall']) },
    scripts: {
      'scripts/AfterInstall.sh': `{
  echo "LIFECYCLE_EVENT=$LIFECYCLE_EVENT"; echo "DEPLOYMENT_ID=$DEPLOYMENT_ID"; echo "APPLICATION_NAME=$APPLICATION_NAME"
  echo "DEPLOYMENT_GROUP_NAME=$DEPLOYMENT_GROUP_NAME"; echo "DEPLOYMENT_GROUP_ID=$DEPLOYMENT_GROUP_ID"
  echo "TOKEN=\${FERRY_TOKEN:-unset}"; echo "PWD=$PWD"; echo "REVISION=$FERRY_REVISION_DIR"
  if read -t 1 line; then echo "STDIN=open"; else echo "STDIN=closed"; fi
} > ${out}`,
    },
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle,
    ['--application-name', 'shop', '--deployment-group-name', 'web', '--deployment-group', 'dg-123'],
    { env: { FERRY_TOKEN: 'secret-token' } });
  t.equal(r.code, 0, r.stderr);
  const env = Object.fromEntries((await fs.readFile(out, 'utf8')).trim().split('\n').map(l => l.split(/=(.*)/s).slice(0, 2)));
  t.equal(env.LIFECYCLE_EVENT, 'AfterInstall');
  t.match(env.DEPLOYMENT_ID, /^d-[A-Z0-9]{9}-local$/);
  t.equal(env.DEPLOYMENT_ID, r.json.deploymentId);
  t.equal(env.APPLICATION_NAME, 'shop');
  t.equal(env.DEPLOYMENT_GROUP_NAME, 'web');
  t.equal(env.DEPLOYMENT_GROUP_ID, 'dg-123');
  t.equal(env.TOKEN, 'unset', 'the agent\'s FERRY_* variables never reach hook scripts');
  t.equal(env.STDIN, 'closed');
  t.equal(env.PWD, '/', 'scripts run from /, as CodeDeploy\'s do');
  t.equal(env.REVISION, path.join(dir, 'root', 'dg-123', r.json.deploymentId, 'deployment-archive'));
});

t.test('a failing hook fails the deployment, skips the rest, and exits 1 with the error code', async t => {
  const dir = await tempDir(t);
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart', 'ValidateService']) },
    scripts: { 'scripts/ApplicationStart.sh': 'echo starting; echo bad >&2; exit 7', 'scripts/ValidateService.sh': 'echo never' },
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle);
  t.equal(r.code, 1);
  t.equal(r.json.status, 'Failed');
  const start = eventOf(r.json, 'ApplicationStart');
  t.equal(start.status, 'Failed');
  t.equal(start.errorCode, 'ScriptFailed');
  t.equal(start.exitCode, 7);
  t.equal(start.script, 'scripts/ApplicationStart.sh');
  t.type(start.durationMs, 'number');
  t.equal(eventOf(r.json, 'ValidateService').status, 'Skipped');
  t.equal(r.json.error.event, 'ApplicationStart');
  const log = await fs.readFile(r.json.scriptsLog, 'utf8');
  t.match(log, /LifecycleEvent - ApplicationStart/);
  t.match(log, /Script - scripts\/ApplicationStart\.sh/);
  t.match(log, /\[stdout\]starting/);
  t.match(log, /\[stderr\]bad/);
  const shared = await fs.readFile(path.join(dir, 'root', 'deployment-logs', 'ferry-agent-deployments.log'), 'utf8');
  t.match(shared, new RegExp(`\\[${r.json.deploymentId}\\]\\[stderr\\]bad`));
});

t.test('the human output shows each event, the hook lines live, and a verdict', async t => {
  const dir = await tempDir(t);
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) },
    scripts: { 'scripts/ApplicationStart.sh': 'echo hello from the hook' },
  });
  let sawLineBeforeExit = false;
  const r = await runAgent(['local', '--bundle-location', bundle, '--root-dir', path.join(dir, 'root')], {
    onStdout: chunk => {
      if (chunk.includes('[stdout] hello from the hook')) sawLineBeforeExit = true;
    },
  });
  t.equal(r.code, 0, r.stderr);
  t.ok(sawLineBeforeExit);
  t.match(r.stdout, /▶ ApplicationStart/);
  t.match(r.stdout, /✔ ApplicationStart\s+Succeeded\s+\d+/);
  t.match(r.stdout, /– ApplicationStop\s+Skipped: first deployment/);
  t.match(r.stdout, /succeeded in/);
  t.match(r.stdout, /AppSpec file valid\. Local deployment successful/);
});

t.test('--events runs a subset in lifecycle order, always with DownloadBundle and Install', async t => {
  const dir = await tempDir(t);
  const proof = path.join(dir, 'proof');
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['BeforeInstall', 'ApplicationStart', 'ValidateService']) },
    scripts: Object.fromEntries(['BeforeInstall', 'ApplicationStart', 'ValidateService']
      .map(e => [`scripts/${e}.sh`, `echo $LIFECYCLE_EVENT >> ${proof}`])),
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle, ['--events', 'ValidateService,BeforeInstall']);
  t.equal(r.code, 0, r.stderr);
  t.same((await fs.readFile(proof, 'utf8')).trim().split('\n'), ['BeforeInstall', 'ValidateService']);
  t.equal(eventOf(r.json, 'Install').status, 'Succeeded');
  t.equal(eventOf(r.json, 'ApplicationStart').status, 'Skipped');
});

t.test('bad usage exits 2 with a message naming the flag', async t => {
  const dir = await tempDir(t);
  const cases: [string[], RegExp][] = [
    [['local', '--bundle-location', path.join(dir, 'nope')], /--bundle-location: .*does not exist/],
    [['local', '--bundle-location', dir, '--events', 'Bad Name'], /--events: "Bad Name" is not an event name/],
    [['local', '--bundle-location', dir, '--file-exists-behavior', 'MERGE'], /file-exists-behavior/],
    [['local', '--bundle-location', dir, '--type', 'zip'], /--type zip does not match/],
    [['local', '--bundle-location', dir, '--deployment-group', '../x'], /--deployment-group/],
    [['local', '--bundle-location', dir, '--max-revisions', '0'], /--max-revisions/],
    [['local', '--no-such-flag'], /unknown option/],
  ];
  for (const [args, message] of cases) {
    const r = await runAgent(args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, message, args.join(' '));
  }
});

t.test('a missing script fails ScriptMissing; a script that is not executable runs, by its shebang or by /bin/sh', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const viaShebang = await writeBundle(path.join(dir, 'a'), {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) },
    files: { 'scripts/ApplicationStart.sh': { content: '#!/bin/bash\necho ran via shebang\n', mode: 0o644 } },
  });
  const ok = await deployLocal(root, viaShebang, ['--deployment-group', 'a']);
  t.equal(ok.code, 0, ok.stderr);
  t.match(await fs.readFile(ok.json.scriptsLog, 'utf8'), /\[stdout\]ran via shebang/);

  const noShebang = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) },
    files: { 'scripts/ApplicationStart.sh': { content: 'echo no shebang\n', mode: 0o644 } },
  });
  const sh = await deployLocal(root, noShebang, ['--deployment-group', 'b']);
  t.equal(sh.code, 0, sh.stdout + sh.stderr);
  t.match(await fs.readFile(sh.json.scriptsLog, 'utf8'), /\[stdout\]no shebang/);

  const missing = await writeBundle(path.join(dir, 'c'), {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) },
  });
  const gone = await deployLocal(root, missing, ['--deployment-group', 'c']);
  t.equal(gone.code, 1);
  t.equal(eventOf(gone.json, 'ApplicationStart').errorCode, 'ScriptMissing');
});
