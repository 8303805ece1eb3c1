/**
 * Bundles shaped like real-world CodeDeploy bundles (tutorials, AWS samples, the AWS agent's own
 * feature fixtures) run through the real `bin/ferry-agent local` as CodeDeploy's agent runs them
 * (docs/appspec.md, "Differences from the AWS agent").
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { deployLocal, eventOf, runAgent } from '../helpers/agent-cli.js';
import { writeBundle } from '../helpers/bundle.js';
import { isRoot, tempDir } from '../helpers/temp.js';

const stdoutLines = async (json: any): Promise<string[]> =>
  (await fs.readFile(json.scriptsLog, 'utf8')).split('\n').filter(l => l.includes('[stdout]')).map(l => l.replace(/^.*\[stdout\]/, ''));

t.test('location: /scripts/start.sh (a leading slash) runs the revision\'s scripts/start.sh', async t => {
  const dir = await tempDir(t);
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', hooks: { ApplicationStart: [{ location: '/scripts/start.sh', timeout: 60 }] } },
    scripts: { 'scripts/start.sh': 'echo started' },
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.strictSame(await stdoutLines(r.json), ['started']);
});

t.test('scripts without #! and without the exec bit run with /bin/sh after chmod +x; a BeforeInstall script copied by files: lands 0755', async t => {
  const dir = await tempDir(t);
  const dest = path.join(dir, 'www');
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: {
      version: 0.0, os: 'linux',
      files: [{ source: 'scripts', destination: dest }],
      hooks: {
        BeforeInstall: [{ location: 'scripts/install_dependencies' }],
        AfterInstall: [{ location: 'scripts/after.sh' }],
      },
    },
    files: {
      // No #!: exec would fail ENOEXEC; CodeDeploy's agent ends up running /bin/sh on it.
      'scripts/install_dependencies': { content: 'echo "deps via $0"\n', mode: 0o644 },
      'scripts/after.sh': { content: 'echo after\n', mode: 0o644 },
    },
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.strictSame(await stdoutLines(r.json), [`deps via ${path.join(r.json.deploymentDir, 'deployment-archive', 'scripts', 'install_dependencies')}`, 'after']);
  const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;
  const archive = path.join(r.json.deploymentDir, 'deployment-archive', 'scripts');
  t.equal(await mode(path.join(archive, 'install_dependencies')), 0o755, 'the unpacked copy was made executable');
  t.equal(await mode(path.join(archive, 'after.sh')), 0o755, 'the unpacked copy was made executable');
  t.equal(await mode(path.join(dest, 'install_dependencies')), 0o755, 'chmodded before Install, so installed 0755 (as on CodeDeploy)');
  t.equal(await mode(path.join(dest, 'after.sh')), 0o644, 'an AfterInstall script is chmodded after Install: installed as it was (as on CodeDeploy)');
});

t.test('hooks run from / with FERRY_REVISION_DIR naming the revision; relative paths behave as on CodeDeploy', async t => {
  const dir = await tempDir(t);
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', hooks: { AfterInstall: [{ location: 'scripts/where.sh' }] } },
    files: { 'config.txt': 'from the revision' },
    scripts: { 'scripts/where.sh': 'echo "pwd=$PWD"; cat "$FERRY_REVISION_DIR/config.txt"; echo; test ! -e config.txt && echo "relative: not found"' },
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.strictSame(await stdoutLines(r.json), ['pwd=/', 'from the revision', 'relative: not found']);
});

t.test('custom events: --events ApplicationStart,CustomEvent runs both, in that order (the AWS agent\'s custom event fixture)', async t => {
  const dir = await tempDir(t);
  const events = ['BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService', 'CustomEvent'];
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', hooks: Object.fromEntries(events.map(e => [e, [{ location: `scripts/${e}.sh` }]])) },
    scripts: Object.fromEntries(events.map(e => [`scripts/${e}.sh`, 'echo "$LIFECYCLE_EVENT"'])),
  });
  const root = path.join(dir, 'root');
  const r = await deployLocal(root, bundle, ['--events', 'ApplicationStart,CustomEvent']);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.strictSame(await stdoutLines(r.json), ['ApplicationStart', 'CustomEvent']);
  const names = r.json.events.map((e: any) => e.name);
  t.equal(names.indexOf('CustomEvent'), names.indexOf('ApplicationStart') + 1, 'reported right after ApplicationStart');
  t.equal(eventOf(r.json, 'CustomEvent').status, 'Succeeded');

  const first = await deployLocal(root, bundle, ['--events', 'CustomEvent,BeforeInstall', '--deployment-group', 'g2']);
  t.equal(first.code, 0, first.stdout + first.stderr);
  t.strictSame(await stdoutLines(first.json), ['BeforeInstall', 'CustomEvent'], 'a custom event that follows no lifecycle event runs after Install');

  const plain = await deployLocal(root, bundle, ['--deployment-group', 'g3']);
  t.equal(plain.code, 0, plain.stdout + plain.stderr);
  t.notOk((await stdoutLines(plain.json)).includes('CustomEvent'), 'not run unless --events names it');
  t.match(plain.json.warnings.join('\n'), /hooks\.CustomEvent: 'CustomEvent' is not a lifecycle event; its scripts run only as a custom event named in ferry-agent local --events/);

  const typo = await deployLocal(root, bundle, ['--events', 'ApplicationStrat', '--deployment-group', 'g4']);
  t.equal(typo.code, 1);
  t.equal(eventOf(typo.json, 'DownloadBundle').errorCode, 'AppSpecInvalid');
  t.match(eventOf(typo.json, 'DownloadBundle').message, /the requested event ApplicationStrat is not a lifecycle event, and appspec\.yml has no hooks for it \(did you mean ApplicationStart\?\)/);
});

t.test('a tutorial-style appspec runs as on CodeDeploy: an Install hook (ignored), a relative destination (under /), timeouts 300.5 and "60s"', async t => {
  const dir = await tempDir(t);
  const rel = path.relative('/', path.join(dir, 'site'));
  const proof = path.join(dir, 'proof');
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: [
      'version: 0.0',
      'os: linux',
      'files:',
      '  - source: index.html',
      `    destination: ${rel}`,
      'hooks:',
      '  Install:',
      '    - location: scripts/never.sh',
      '  ApplicationStart:',
      '    - location: scripts/start.sh',
      '      timeout: 300.5',
      '  ValidateService:',
      '    - location: scripts/validate.sh',
      '      timeout: "60s"',
      '',
    ].join('\n'),
    files: { 'index.html': '<h1>hi</h1>' },
    scripts: {
      'scripts/never.sh': `echo never >> ${proof}`,
      'scripts/start.sh': `echo start >> ${proof}`,
      'scripts/validate.sh': `echo validate >> ${proof}`,
    },
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.equal(await fs.readFile(path.join(dir, 'site', 'index.html'), 'utf8'), '<h1>hi</h1>', `destination ${rel} is /${rel}`);
  t.strictSame((await fs.readFile(proof, 'utf8')).trim().split('\n'), ['start', 'validate'], 'the Install hook\'s script never ran');
  const warnings = r.json.warnings.join('\n');
  t.match(warnings, /appspec\.yml:5 files\[0\]\.destination: 'destination' .* is relative: installed under \/ as \//);
  t.match(warnings, /appspec\.yml:7 hooks\.Install: 'Install' is done by the agent: these scripts are not run/);
  t.match(warnings, /appspec\.yml:11 hooks\.ApplicationStart\[0\]\.timeout: 'timeout' 300\.5 is not a whole number of seconds: read as 300/);
  t.match(warnings, /appspec\.yml:14 hooks\.ValidateService\[0\]\.timeout: 'timeout' "60s" is not a whole number of seconds: read as 60/);
});

t.test('runas scripts get the user\'s supplementary groups, login variables and the agent\'s PATH (root)', { skip: !isRoot && 'needs root: it creates users and a group, and runas switches the hook to another user' }, async t => {
  const dir = await tempDir(t);
  const tag = `${process.pid}`.slice(-6);
  const group = `ferryg${tag}`;
  const userName = `ferryu${tag}`;
  const nologin = `ferryn${tag}`;
  execFileSync('groupadd', [group]);
  t.teardown(() => execFileSync('groupdel', [group]));
  execFileSync('useradd', ['--no-create-home', '--home-dir', `/home/${userName}`, '--shell', '/bin/bash', '--groups', group, userName]);
  t.teardown(() => execFileSync('userdel', [userName]));
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', nologin]);
  t.teardown(() => execFileSync('userdel', [nologin]));

  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: {
      version: 0.0, os: 'linux',
      hooks: {
        AfterInstall: [{ location: 'scripts/who.sh', runas: userName }],
        ApplicationStart: [{ location: 'scripts/who.sh', runas: nologin }],
      },
    },
    scripts: { 'scripts/who.sh': 'echo "$(id -un) groups=$(id -Gn) HOME=$HOME USER=$USER LOGNAME=$LOGNAME SHELL=$SHELL PATH=$PATH"' },
  });
  const agentPath = `${path.join(dir, 'agent-bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
  const r = await deployLocal(path.join(dir, 'root'), bundle, [], { env: { PATH: agentPath } });
  t.equal(r.code, 0, r.stdout + r.stderr);
  const [first, second] = await stdoutLines(r.json);
  t.equal(first, `${userName} groups=${userName} ${group} HOME=/home/${userName} USER=${userName} LOGNAME=${userName} SHELL=/bin/bash PATH=${agentPath}`,
    'as su gives them: initgroups, HOME/USER/LOGNAME/SHELL, PATH untouched');
  t.match(second, new RegExp(`^${nologin} groups=${nologin} `), 'a nologin user\'s script still runs');
  t.match(r.json.warnings.join('\n'), new RegExp(`runas ${nologin} of scripts/who\\.sh: ${nologin}'s login shell is /usr/sbin/nologin, so on CodeDeploy, which runs runas scripts through su, this script fails`));
});

t.test('messages: a missing appspec names the bundle given; a windows appspec is one error; events before DownloadBundle are not blamed on it', async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const noAppspec = path.join(dir, 'no-appspec');
  await fs.mkdir(path.join(noAppspec, 'app'), { recursive: true });
  await fs.writeFile(path.join(noAppspec, 'app', 'index.html'), 'x');
  const tgz = path.join(dir, 'bundle.tgz');
  execFileSync('tar', ['-czf', tgz, '-C', noAppspec, '.']);
  const missing = await deployLocal(root, tgz);
  t.equal(missing.code, 1);
  t.equal(eventOf(missing.json, 'DownloadBundle').message,
    `no appspec file in tgz bundle ${tgz}: looked for appspec.yml, appspec.yaml at its root (or inside its single top-level directory)`);

  const windows = await writeBundle(path.join(dir, 'win'), {
    appspec: 'version: 0.0\nos: windows\nfiles:\n  - source: \\\n    destination: C:\\inetpub\\wwwroot\n',
  });
  const w = await deployLocal(root, windows);
  t.equal(w.code, 1);
  t.equal(eventOf(w.json, 'DownloadBundle').message, 'invalid appspec.yml:\n  appspec.yml:2 os: os: windows is not supported by this agent: it runs linux bundles only');

  const good = await writeBundle(path.join(dir, 'good'), {
    appspec: { version: 0.0, os: 'linux', hooks: { ApplicationStop: [{ location: 'scripts/stop.sh' }] } },
    scripts: { 'scripts/stop.sh': 'echo stop' },
  });
  t.equal((await deployLocal(root, good)).code, 0);
  const bad = await writeBundle(path.join(dir, 'bad'), { appspec: 'version: 0.0\nos: linux\nhooks: [oops]\n' });
  const r = await deployLocal(root, bad);
  t.equal(r.code, 1);
  for (const e of ['BeforeBlockTraffic', 'AfterBlockTraffic', 'ApplicationStop']) {
    t.equal(eventOf(r.json, e).message, 'not run: the new revision failed DownloadBundle, which Ferry runs first, so the application was left running', e);
  }
  t.equal(eventOf(r.json, 'BeforeInstall').message, 'because DownloadBundle failed');
});

t.test('drop-in flags of codedeploy-local: -b in any case, -v/--version, -c with :root_dir: and :log_dir:, --help', async t => {
  const dir = await tempDir(t);
  const dest = path.join(dir, 'www');
  await fs.mkdir(dest);
  await fs.writeFile(path.join(dest, 'index.html'), 'foreign');
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: { version: 0.0, os: 'linux', files: [{ source: 'index.html', destination: dest }] },
    files: { 'index.html': 'ours' },
  });
  const lower = await deployLocal(path.join(dir, 'root'), bundle, ['-b', 'overwrite']);
  t.equal(lower.code, 0, lower.stdout + lower.stderr);
  t.equal(await fs.readFile(path.join(dest, 'index.html'), 'utf8'), 'ours', '-b overwrite is OVERWRITE');
  const bad = await runAgent(['local', '-l', bundle, '-b', 'merge']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--file-exists-behavior: 'merge' is not one of DISALLOW, OVERWRITE, RETAIN/);

  for (const flag of ['-v', '--version']) {
    const v = await runAgent(['local', flag]);
    t.equal(v.code, 0, flag);
    t.match(v.stdout.trim(), /^\d+\.\d+\.\d+/, `${flag} prints the version`);
  }

  const conf = path.join(dir, 'codedeployagent.yml');
  await fs.writeFile(conf, [
    "---",
    ":log_aws_wire: false",
    `:log_dir: '${path.join(dir, 'logs')}'`,
    ":pid_dir: '/opt/codedeploy-agent/state/.pid/'",
    ":program_name: codedeploy-agent",
    `:root_dir: '${path.join(dir, 'aws-root')}'`,
    ":verbose: false",
    ":wait_between_runs: 1",
    ":proxy_uri:",
    ":max_revisions: 2",
    '',
  ].join('\n'));
  const c = await runAgent(['local', '-l', bundle, '-c', conf, '-b', 'OVERWRITE', '--json']);
  t.equal(c.code, 0, c.stdout + c.stderr);
  t.equal(c.json.rootDir, path.join(dir, 'aws-root'), ':root_dir: is the root dir');
  t.match(c.stderr, /note: .*codedeployagent\.yml: :log_aws_wire:, :pid_dir:, :program_name:, :verbose:, :wait_between_runs:, :proxy_uri: ignored/);
  const log = await fs.readFile(path.join(dir, 'logs', 'ferry-agent-local.log'), 'utf8');
  t.match(log, new RegExp(`Deployment ${c.json.deploymentId} succeeded`), 'the run is logged in :log_dir:');

  const missingConf = await runAgent(['local', '-l', bundle, '--agent-configuration-file', path.join(dir, 'nope.yml')]);
  t.equal(missingConf.code, 2);
  t.match(missingConf.stderr, /--agent-configuration-file: cannot read .*nope\.yml/);
  await fs.writeFile(conf, ':root_dir: 5\n:max_revisions: zero\n');
  const badConf = await runAgent(['local', '-l', bundle, '-c', conf]);
  t.equal(badConf.code, 2);
  t.match(badConf.stderr, /codedeployagent\.yml:1 :root_dir: must be a directory path/);
  t.match(badConf.stderr, /codedeployagent\.yml:2 :max_revisions: must be a whole number/);

  const help = await runAgent(['local', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /-c, --agent-configuration-file <file>/);
  t.match(help.stdout, /-v, --version/);
  t.match(help.stdout, /in any case/);
});

t.test('ScriptNotExecutable now means chmod +x failed: a stop script on a read-only deployment root (root)', { skip: !isRoot && 'needs root: it bind-mounts the revision read-only' }, async t => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'root');
  const v1 = await writeBundle(path.join(dir, 'v1'), {
    appspec: { version: 0.0, os: 'linux', hooks: { ApplicationStop: [{ location: 'scripts/stop.sh' }] } },
    files: { 'scripts/stop.sh': { content: 'echo stop\n', mode: 0o644 } },
  });
  const first = await deployLocal(root, v1);
  t.equal(first.code, 0, first.stdout + first.stderr);
  const archive = path.join(first.json.deploymentDir, 'deployment-archive');
  execFileSync('mount', ['--bind', archive, archive]);
  t.teardown(() => execFileSync('umount', [archive]));
  execFileSync('mount', ['-o', 'remount,ro,bind', archive]);
  const second = await deployLocal(root, v1);
  t.equal(second.code, 1);
  const stop = eventOf(second.json, 'ApplicationStop');
  t.equal(stop.errorCode, 'ScriptNotExecutable');
  t.match(stop.message, /script scripts\/stop\.sh is not executable and chmod \+x failed \(EROFS: read-only file system.*\); check that the deployment root is writable and not mounted noexec/);
});

t.test('bundles CodeDeploy would refuse or misread still deploy, each with a warning: string version, BOM, alias, unquoted 0644', async t => {
  const dir = await tempDir(t);
  const dest = path.join(dir, 'www');
  const bundle = await writeBundle(path.join(dir, 'b'), {
    appspec: '\uFEFF' + [
      "version: '0.0'",
      'os: linux',
      'files:',
      '  - source: app',
      `    destination: ${dest}`,
      'permissions:',
      `  - object: ${dest}`,
      '    mode: 0644',
      '    type: [file]',
      'hooks:',
      '  AfterInstall: &check',
      '    - location: scripts/check.sh',
      '  ValidateService: *check',
      '',
    ].join('\n'),
    files: { 'app/index.html': 'hi' },
    scripts: { 'scripts/check.sh': 'echo "$LIFECYCLE_EVENT"' },
  });
  const r = await deployLocal(path.join(dir, 'root'), bundle);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.equal((await fs.stat(path.join(dest, 'index.html'))).mode & 0o777, 0o644, 'mode 0644 as written (CodeDeploy would install 0420)');
  t.strictSame(await stdoutLines(r.json), ['AfterInstall', 'ValidateService'], 'the alias is resolved');
  const warnings = r.json.warnings.join('\n');
  t.match(warnings, /appspec\.yml:1: starts with a UTF-8 byte order mark/);
  t.match(warnings, /appspec\.yml:1 version: version is the string "0\.0": CodeDeploy's agent rejects it/);
  t.match(warnings, /appspec\.yml:8 permissions\[0\]\.mode: unquoted mode 0644 is the octal number 420 in YAML 1\.1: Ferry applies 0644, but CodeDeploy's agent silently installs mode 0420/);
  t.match(warnings, /appspec\.yml:13: uses the YAML alias \*check: CodeDeploy's agent \(Ruby 3\.1\+, Psych 4\) rejects aliases/);
});
