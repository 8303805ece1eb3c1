import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { START_FILE_KEYS, agentConfigPath, parseStartFile } from '../../agent/config.js';
import { isFerryError } from '../../common/errors.js';
import { COORDINATOR_FILE_KEYS, coordinatorConfigPath, resolveCoordinatorConfig } from '../../coordinator/config.js';
import { AGENT_KINDS, COORDINATOR_KINDS, didYouMean, kebab } from '../../common/config-file.js';
import { REPO } from '../helpers/agent-cli.js';
import { tempDir } from '../helpers/temp.js';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (!isFerryError(err, 'INVALID_ARGUMENT')) throw err;
    return err.message;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

t.test('the agent file: every problem at once, with its line and a "did you mean"', async t => {
  const text = [
    'coordinator: nohost', // 1
    'zonee: eu-1a', // 2
    'heartbeat-interval: soon', // 3
    'tags: role=web', // 4
    'max-revisions: 0', // 5
    'max_bundle_size: 2Q', // 6
    'log-level: loud', // 7
    'kill-grace: [1, 2]', // 8
    'root-dir: /srv/root', // 9: fine
    'rootDir: /srv/other', // 10: the same key again
  ].join('\n');
  t.equal(messageOf(() => parseStartFile(text, '/etc/ferry/agent.yaml')), [
    '--config: /etc/ferry/agent.yaml: 9 problems:',
    "  /etc/ferry/agent.yaml:1: coordinator: 'nohost' is not HOST:PORT (e.g. coordinator.internal:7443)",
    "  /etc/ferry/agent.yaml:2: unknown key 'zonee' (did you mean 'zone'?); known: coordinator, root-dir, host-id, tags, zone, log-level, heartbeat-interval, max-revisions, max-bundle-size, kill-grace, output-grace, max-download-rate, metrics-listen, renew-before",
    "  /etc/ferry/agent.yaml:3: heartbeat-interval: 'soon' is not a duration (e.g. 5, 500ms, 2m, 30d)",
    '  /etc/ferry/agent.yaml:4: tags: must be a mapping (key: value) or a list of key=value',
    "  /etc/ferry/agent.yaml:5: max-revisions: '0' must be a positive integer",
    "  /etc/ferry/agent.yaml:6: max-bundle-size: '2Q' is not a size (e.g. 512M, 2G)",
    "  /etc/ferry/agent.yaml:7: log-level: 'loud' is not one of debug, info, warn, error",
    '  /etc/ferry/agent.yaml:8: kill-grace: must be a single value, not a list',
    "  /etc/ferry/agent.yaml:10: 'rootDir' is set twice (as root-dir)",
  ].join('\n'));
  t.same(parseStartFile('coordinator: a.b:1\nheartbeat_interval: 2\ntags: { role: web }\nzone:\n', 'a.yml'),
    { coordinator: 'a.b:1', heartbeatInterval: 2, tags: { role: 'web' } }, 'good values pass through; an empty value is unset');
});

t.test('the coordinator file: the same checks, through resolveCoordinatorConfig', async t => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'coordinator.yaml');
  await fs.writeFile(file, 'data: ./d\nlisen: 0.0.0.0:7420\nheartbeat-interval: 5x\nmax-revision-size: big\n');
  t.equal(messageOf(() => resolveCoordinatorConfig({ config: file }, {}, dir)), [
    `--config: ${file}: 3 problems:`,
    `  ${file}:2: unknown key 'lisen' (did you mean 'listen'?); known: data, listen, log-level, heartbeat-interval, agent-timeout, max-heartbeat-rate, log-bytes-per-host, max-revision-size, metrics-listen, webhook-retry-base, webhook-retry-max, webhook-max-attempts, webhook-max-age, webhook-timeout, events-retained, audit-retention, insecure, server-cert-renew-before, refused-call-limit, connect-timeout, request-timeout, idle-timeout, max-connections, max-connections-per-address, webhook-allow, max-streams-per-caller, max-downloads-per-host, download-stall-timeout, public-url, store, store-password-file, store-sslmode, store-ca-file`,
    `  ${file}:3: heartbeat-interval: '5x' is not a duration (e.g. 5, 500ms, 2m, 30d)`,
    `  ${file}:4: max-revision-size: 'big' is not a size (e.g. 512M, 2G)`,
  ].join('\n'));
  await fs.writeFile(file, 'data: ./d\nlisten: 127.0.0.1:0\nlog_bytes_per_host: 2M\n');
  t.match(resolveCoordinatorConfig({ config: file }, {}, dir), { dataDir: path.join(dir, 'd'), listen: '127.0.0.1:0', logBytesPerHost: 2 * 1024 ** 2 });
  t.match(resolveCoordinatorConfig({ config: file }, {}, '/'), { dataDir: path.join(dir, 'd') }, 'a relative data dir in the file is relative to the file, like the agent\'s root-dir');
  t.match(resolveCoordinatorConfig({ config: file, data: './e' }, {}, '/srv'), { dataDir: '/srv/e' }, 'from a flag: relative to the working directory');
  t.match(resolveCoordinatorConfig({ config: file, listen: '127.0.0.1:9' }, { FERRY_LISTEN: '127.0.0.1:8' }, dir), { listen: '127.0.0.1:9' }, 'flags beat the environment');
  t.match(resolveCoordinatorConfig({ config: file }, { FERRY_LISTEN: '127.0.0.1:8' }, dir), { listen: '127.0.0.1:8' }, 'the environment beats the file');
});

t.test('audit-retention: a duration, 365 days unless set, 0 keeps records forever; flag, then environment, then file', async t => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'coordinator.yaml');
  await fs.writeFile(file, 'data: ./d\naudit-retention: 90d\n');
  const none = { FERRY_COORDINATOR_CONFIG: '' };
  const day = 86_400_000;
  t.equal(resolveCoordinatorConfig({ data: dir }, none, dir).auditRetentionMs, 365 * day, 'default 365d');
  t.equal(resolveCoordinatorConfig({ config: file }, {}, dir).auditRetentionMs, 90 * day, 'from the file');
  t.equal(resolveCoordinatorConfig({ config: file }, { FERRY_AUDIT_RETENTION: '0' }, dir).auditRetentionMs, 0, 'the environment beats the file; 0 is allowed');
  t.equal(resolveCoordinatorConfig({ config: file, auditRetention: '12h' }, { FERRY_AUDIT_RETENTION: '0' }, dir).auditRetentionMs, 12 * 3_600_000, 'the flag beats both');
  t.match(messageOf(() => resolveCoordinatorConfig({ data: dir, auditRetention: '1y' }, none, dir)), /^--audit-retention: '1y' is not a duration/);
  t.match(messageOf(() => resolveCoordinatorConfig({ data: dir }, { ...none, FERRY_AUDIT_RETENTION: 'forever' }, dir)), /^FERRY_AUDIT_RETENTION: 'forever' is not a duration/);
  await fs.writeFile(file, 'data: ./d\naudit_retention: -1d\n');
  t.equal(messageOf(() => resolveCoordinatorConfig({ config: file }, {}, dir)),
    `--config: ${file}: 1 problem:\n  ${file}:2: audit-retention: '-1d' is not a duration (e.g. 5, 500ms, 2m, 30d)`);
});

t.test('which file is read: --config, then the variable (empty: none), then the default when it exists', async t => {
  const dir = await tempDir(t);
  const dflt = path.join(dir, 'agent.yaml');
  t.equal(agentConfigPath({}, {}, dflt), undefined, 'a missing default is no file');
  await fs.writeFile(dflt, '');
  t.equal(agentConfigPath({}, {}, dflt), dflt);
  t.equal(agentConfigPath({}, { configFile: '/x.yaml' }, dflt), '/x.yaml');
  t.equal(agentConfigPath({}, { configFile: '' }, dflt), undefined);
  t.equal(agentConfigPath({ config: 'c.yaml' }, { configFile: '/x.yaml' }, dflt), 'c.yaml');
  t.equal(coordinatorConfigPath({}, {}, dflt), dflt);
  t.equal(coordinatorConfigPath({}, { FERRY_COORDINATOR_CONFIG: '' }, dflt), undefined);
  t.equal(coordinatorConfigPath({}, { FERRY_COORDINATOR_CONFIG: '/y.yaml' }, dflt), '/y.yaml');
  t.equal(coordinatorConfigPath({ config: 'c.yaml' }, { FERRY_COORDINATOR_CONFIG: '/y.yaml' }, dflt), 'c.yaml');
});

t.test('did you mean: close keys only', async t => {
  t.equal(didYouMean('coordinater', START_FILE_KEYS), 'coordinator');
  t.equal(didYouMean('root_dirr', START_FILE_KEYS), 'root-dir');
  t.equal(didYouMean('metrics', START_FILE_KEYS), undefined);
});

t.test('docs/configuration.md documents every key of both files', async t => {
  const doc = readFileSync(path.join(REPO, 'docs', 'configuration.md'), 'utf8');
  const agent = doc.slice(doc.indexOf('## /etc/ferry/agent.yaml'), doc.indexOf('## /etc/ferry/coordinator.yaml'));
  const coordinator = doc.slice(doc.indexOf('## /etc/ferry/coordinator.yaml'));
  t.ok(agent.length > 0 && coordinator.length > 0, 'both sections exist');
  for (const key of START_FILE_KEYS) t.match(agent, `| \`${kebab(key)}\` |`, `agent.yaml: ${kebab(key)}`);
  for (const key of COORDINATOR_FILE_KEYS) t.match(coordinator, `| \`${kebab(key)}\` |`, `coordinator.yaml: ${kebab(key)}`);
  // Every typed key is a file key (a stale entry in the kinds tables would check nothing).
  for (const key of Object.keys(AGENT_KINDS)) t.ok((START_FILE_KEYS as readonly string[]).includes(key), `agent kind ${key}`);
  for (const key of Object.keys(COORDINATOR_KINDS)) t.ok(COORDINATOR_FILE_KEYS.includes(key), `coordinator kind ${key}`);
});
