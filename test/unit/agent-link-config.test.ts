import { promises as fs } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { type AgentEnvironment, loadStartConfig, parseStartFile, resolveStartConfig } from '../../agent/config.js';
import { isFerryError } from '../../common/errors.js';
import { tempDir } from '../helpers/temp.js';

const env = (over: Partial<AgentEnvironment> = {}): AgentEnvironment =>
  ({ hookEnv: {}, uid: 1000, home: '/home/u', noColor: true, ...over });

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (!isFerryError(err, 'INVALID_ARGUMENT')) throw err;
    return err.message;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

t.test('start config: defaults, then the file, then FERRY_COORDINATOR, then flags', async t => {
  const minimal = resolveStartConfig({ coordinator: 'c.internal:7443' }, {}, env(), '/work');
  t.same(minimal, {
    coordinators: ['c.internal:7443'], rootDir: '/home/u/.ferry-agent/deployment-root', tags: {}, zone: '',
    logLevel: 'info', heartbeatIntervalMs: 5000, retention: 5, maxBundleBytes: 2 * 1024 ** 3, killGraceMs: 10_000, outputGraceMs: 3000, maxDownloadRate: 0, renewBeforeMs: 30 * 86_400_000,
  });
  t.ok(Object.isFrozen(minimal));
  const file = parseStartFile([
    'coordinator: file.internal:1', 'root-dir: ./root', 'host-id: web-01', 'tags: { role: web, env: staging }',
    'zone: eu-1a', 'logLevel: warn', 'heartbeat-interval: 2', 'max-revisions: 3',
  ].join('\n'), '/etc/ferry/agent.yml');
  const fromFile = resolveStartConfig({}, file, env(), '/work', '/etc/ferry/agent.yml');
  t.match(fromFile, {
    coordinators: ['file.internal:1'], rootDir: '/etc/ferry/root', hostId: 'web-01', tags: { role: 'web', env: 'staging' },
    zone: 'eu-1a', logLevel: 'warn', heartbeatIntervalMs: 2000, retention: 3,
  });
  t.same(resolveStartConfig({}, file, env({ coordinator: 'env.internal:2' }), '/w').coordinators, ['env.internal:2'], 'the environment beats the file');
  const flags = resolveStartConfig({ coordinator: 'flag.internal:3', tag: ['env=prod', 'canary=true'], zone: 'eu-1b', rootDir: 'r' },
    file, env({ coordinator: 'env.internal:2' }), '/work', '/etc/ferry/agent.yml');
  t.match(flags, { coordinators: ['flag.internal:3'], zone: 'eu-1b', rootDir: '/work/r' });
  t.same(flags.tags, { role: 'web', env: 'prod', canary: 'true' }, 'flag tags override the file\'s per key');
});

t.test('start config errors name the flag, or the file and key', async t => {
  const e = env();
  t.equal(messageOf(() => resolveStartConfig({}, {}, e, '/')), '--coordinator: required (HOST:PORT, or several comma-separated; or set FERRY_COORDINATOR)');
  t.same(resolveStartConfig({ coordinator: 'a.internal:7420, b.internal:7420,a.internal:7420' }, {}, e, '/').coordinators, ['a.internal:7420', 'b.internal:7420'],
    'several replicas, comma-separated: blanks and repeats dropped, order kept');
  t.equal(messageOf(() => resolveStartConfig({ coordinator: 'a:1,,b:2' }, {}, e, '/')), "--coordinator: 'a:1,,b:2' has an empty address (HOST:PORT[,HOST:PORT…])");
  t.equal(messageOf(() => resolveStartConfig({ coordinator: 'a:1,b' }, {}, e, '/')), "--coordinator: 'b' is not HOST:PORT (e.g. coordinator.internal:7443)", 'the bad one is named');
  t.equal(messageOf(() => resolveStartConfig({ coordinator: 'nohost' }, {}, e, '/')), "--coordinator: 'nohost' is not HOST:PORT (e.g. coordinator.internal:7443)");
  t.equal(messageOf(() => resolveStartConfig({}, {}, env({ coordinator: 'x:99999' }), '/')), "FERRY_COORDINATOR: 'x:99999' is not HOST:PORT (e.g. coordinator.internal:7443)");
  const ok = { coordinator: 'c:1' };
  t.equal(messageOf(() => resolveStartConfig({ ...ok, tag: ['=web'] }, {}, e, '/')), "--tag: '=web' has no key: write key=value");
  t.same(resolveStartConfig({ ...ok, tag: ['canary', 'opts=a=b', 'empty='] }, {}, e, '/').tags, { canary: '', opts: 'a=b', empty: '' },
    'a bare key has an empty value; the value may hold =');
  t.equal(messageOf(() => resolveStartConfig({ ...ok, tag: ['a=b,c'] }, {}, e, '/')), "--tag: 'a=b,c': keys may not hold blanks or commas, values no commas");
  t.equal(messageOf(() => resolveStartConfig({ ...ok, hostId: 'a b' }, {}, e, '/')), "--host-id: 'a b' must be letters, digits, '.', '_' or '-'");
  t.equal(messageOf(() => resolveStartConfig({ ...ok, logLevel: 'loud' }, {}, e, '/')), "--log-level: 'loud' is not one of debug, info, warn, error");
  t.equal(messageOf(() => resolveStartConfig({ ...ok, heartbeatInterval: 'soon' }, {}, e, '/')), "--heartbeat-interval: 'soon' is not a duration (e.g. 5, 500ms, 2m, 30d)");
  t.equal(messageOf(() => resolveStartConfig({ ...ok, heartbeatInterval: '10ms' }, {}, e, '/')), '--heartbeat-interval: must be at least 100ms');
  t.equal(messageOf(() => resolveStartConfig(ok, { maxRevisions: 0 }, e, '/', 'a.yml')), "a.yml: max-revisions: '0' must be a positive integer");
  t.equal(messageOf(() => resolveStartConfig(ok, { tags: 'role=web' }, e, '/', 'a.yml')), 'a.yml: tags: must be a mapping (key: value) or a list of key=value');
  t.equal(messageOf(() => parseStartFile('coordinator: a:1\nport: 3\n', 'a.yml')), "--config: a.yml: 1 problem:\n  a.yml:2: unknown key 'port'; known: coordinator, root-dir, host-id, tags, zone, log-level, heartbeat-interval, max-revisions, max-bundle-size, kill-grace, output-grace, max-download-rate, metrics-listen, renew-before");
  t.equal(messageOf(() => parseStartFile('- a\n- b\n', 'a.yml')), '--config: a.yml: 1 problem:\n  a.yml:1: must be a mapping of settings (coordinator, root-dir, host-id, …)');
  t.match(messageOf(() => parseStartFile('a: [', 'a.yml')), /^--config: a\.yml: 1 problem:\n  a\.yml:1: not valid YAML: /);
  t.same(parseStartFile('', 'a.yml'), {}, 'an empty file is no settings');
});

t.test('loadStartConfig reads the --config file; a missing file names the flag', async t => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'agent.yml');
  await fs.writeFile(file, 'coordinator: c.internal:7443\ntags:\n  - role=web\n');
  const cfg = await loadStartConfig({ config: 'agent.yml' }, env(), dir);
  t.match(cfg, { coordinators: ['c.internal:7443'], tags: { role: 'web' } });
  await t.rejects(loadStartConfig({ config: 'nope.yml' }, env(), dir), { code: 'INVALID_ARGUMENT', message: /^--config: cannot read .*nope\.yml/ });
});
