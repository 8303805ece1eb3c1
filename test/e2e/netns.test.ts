/**
 * Trust, multi-host end to end: the coordinator and two agents on three hosts that are network
 * namespaces on one bridge (test/helpers/netns.ts), everything between them over the bridge
 * addresses. Needs root (as another user it is skipped, saying so: `ip netns add` cannot work there)
 * and iproute2: as root without a working `ip netns` it FAILS with the reason, it does not skip.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { peerAddress } from '../../coordinator/domain/audit.js';
import { isAlive } from '../../common/pid-lock.js';
import { runBin } from '../helpers/agent-cli.js';
import { hooksFor, pack, writeBundle } from '../helpers/bundle.js';
import { type Proc, startAgent, startCoordinator, waitFor } from '../helpers/fleet.js';
import { listNamespaces, makeNet, netnsUnavailable, removeStaleNamespaces } from '../helpers/netns.js';
import { isRoot, tempDir } from '../helpers/temp.js';
import { type AsCaller, asCaller, enrollHost, mintToken, readTrust } from '../helpers/trust.js';

/**
 * What the audit log must show for one case: one record with this action (`ControlService/…`,
 * `AgentService/…`, or `tls-handshake` for a connection refused before any call), outcome, actor
 * (`token:<id>`, `join-token:<id>`, `host:<id>`, `anonymous`) and peer address (this run's bridge
 * addresses), and, when given, these target fields and a message matching `message`.
 */
interface AuditExpectation {
  case: string;
  action: string;
  outcome: 'ok' | 'refused';
  actor: string;
  from: string;
  target?: Record<string, unknown>;
  message?: RegExp;
}

/**
 * Reads the whole audit log (`ferry audit --json`, as the admin) and finds one record per
 * expectation, each record standing for one expectation at most.
 */
async function checkAudit(t: Test, as: AsCaller, admin: string, expected: readonly AuditExpectation[]): Promise<string> {
  const r = await as(admin, ['audit', '--json']);
  t.equal(r.code, 0, `ferry audit --json: ${r.stderr}`);
  const pool: any[] = r.stdout.split('\n').filter(Boolean).map(l => JSON.parse(l));
  for (const e of expected) {
    const i = pool.findIndex(x => x.action === e.action && x.outcome === e.outcome && x.actor === e.actor
      && peerAddress(String(x.peer)).replace(/^::ffff:/, '') === e.from
      && Object.entries(e.target ?? {}).every(([k, v]) => v !== undefined && x.target?.[k] === v)
      && (!e.message || e.message.test(String(x.message))));
    t.ok(i >= 0, `the audit log shows: ${e.case} (${e.action} ${e.outcome}, ${e.actor} from ${e.from})`);
    if (i >= 0) pool.splice(i, 1);
  }
  return r.stdout;
}

/** The id part of a token `fy.<id>.<secret>`: how the coordinator names its holder. */
const idOf = (token: string) => token.split('.')[1]!;
const actorOf = (token: string) => `token:${idOf(token)}`;
const joinActorOf = (token: string) => `join-token:${idOf(token)}`;

/** Bound on an agent's start and first answer (Node starts slowly on a busy 2-core machine). */
const AGENT_MS = 30_000;

const exists = (file: string) => fs.stat(file).then(() => true, () => false);

/**
 * Interface names in the machine's own network namespace, without the veth ends other test files running
 * alongside make there (test/helpers/netns.ts linkedNamespace: `fx<their pid><n>`).
 */
function rootLinks(): string[] {
  const others = (name: string) => /^fx\d+/.test(name) && !name.startsWith(`fx${process.pid}`);
  return execFileSync('ip', ['-o', 'link', 'show']).toString().split('\n').map(l => l.split(':')[1]?.trim() ?? '').filter(Boolean).filter(n => !others(n)).sort();
}

const pids: number[] = [];
const namespacesMade: string[] = [];
let linksBefore: string[] = [];
const notRoot = !isRoot && 'needs root: ip netns add, veth pairs and a bridge are only for root';

t.test('three hosts in network namespaces: enrollment, mutual TLS, refusals, revocation, roles (root, network namespaces)', { skip: notRoot }, async t => {
  const unavailable = await netnsUnavailable();
  if (unavailable) {
    t.fail(`this test needs network namespaces: ${unavailable}`);
    return;
  }
  const stale = await removeStaleNamespaces();
  if (stale.length > 0) t.comment(`removed namespaces of a crashed earlier run: ${stale.join(', ')}`);
  linksBefore = rootLinks();
  const started = Date.now();

  const net = await makeNet(t, ['c', 'a1', 'a2']);
  namespacesMade.push(...net.namespaces);
  const { c: hc, a1: h1net, a2: h2net } = net.hosts;
  const dir = await tempDir(t, 'ferry-netns-');
  const data = path.join(dir, 'data');
  const audit: AuditExpectation[] = [];
  const expectAudit = (e: AuditExpectation) => audit.push(e);
  const track = <P extends Proc>(p: P): P => {
    if (p.child.pid !== undefined) pids.push(p.child.pid);
    return p;
  };

  // The coordinator: its certificate names the bridge address; it listens there only.
  const init = await runBin('ferry-coordinator', ['init', '--data', data, '--san', hc.address], { netns: hc.ns });
  t.equal(init.code, 0, `init: ${init.stderr}`);
  const c = track(await startCoordinator(t, data, ['--heartbeat-interval', '1s'], `${hc.address}:0`, { tls: true, netns: hc.ns }));
  t.match(c.address, new RegExp(`^${hc.address.replace(/\./g, '\\.')}:\\d+$`), 'listens on the bridge address');
  const { fingerprint, admin } = await readTrust(data);
  t.ok(init.stdout.includes(fingerprint), 'init prints the CA fingerprint');
  const trust = { FERRY_CA_FINGERPRINT: fingerprint };
  const fromC = asCaller(c.address, trust, hc.ns);
  const fromA1 = asCaller(c.address, trust, h1net.ns);
  const fromA2 = asCaller(c.address, trust, h2net.ns);
  const mint = (role: string, extra: string[] = []) => {
    expectAudit({ case: `admin: token create --role ${role}`, action: 'ControlService/CreateToken', outcome: 'ok', actor: actorOf(admin), from: hc.address, target: { role } });
    return mintToken(t, fromC, admin, role, extra);
  };

  const adminMust = async (action: string, args: string[]) => {
    const r = await fromC(admin, args);
    t.equal(r.code, 0, `${action}: ${r.stderr}`);
    expectAudit({ case: `admin: ${args.slice(0, 2).join(' ')}`, action: `ControlService/${action}`, outcome: 'ok', actor: actorOf(admin), from: hc.address });
  };
  // Independent calls run side by side (the machine has 2 cores; each CLI call is a Node start).
  let shortLivedAt = 0; // when the 1 s token surely existed
  const [viewer, deployer, join1, join2, shortLived] = await Promise.all([
    mint('viewer'), mint('deployer'), mint('agent', ['--uses', '1', '--tag', 'role=web']), mint('agent', ['--uses', '1', '--tag', 'role=web']),
    mint('agent', ['--ttl', '1s']).then(token => ((shortLivedAt = Date.now()), token)),
    (async () => {
      await adminMust('CreateApplication', ['app', 'create', 'shop']);
      await adminMust('CreateDeploymentGroup', ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web', '--config', 'AllAtOnce']);
    })(),
  ]);

  // Each agent enrolls from its own host, over the bridge, with a one-use join token, then
  // connects with mutual TLS.
  const hosts = [
    { id: 'h1', net: h1net, join: join1, root: path.join(dir, 'h1') },
    { id: 'h2', net: h2net, join: join2, root: path.join(dir, 'h2') },
  ];
  const agents: Record<string, Proc> = {};
  await Promise.all(hosts.map(async h => {
    const e = await enrollHost({ coordinator: c.address, token: h.join, fingerprint, rootDir: h.root, hostId: h.id, netns: h.net.ns });
    t.equal(e.code, 0, `${h.id} enrolls from ${h.net.address}: ${e.stderr}`);
    expectAudit({ case: `${h.id} enrolls`, action: 'AgentService/Enroll', outcome: 'ok', actor: joinActorOf(h.join), from: h.net.address, target: { hostId: h.id } });
    agents[h.id] = track(await startAgent(t, { coordinator: c.address, rootDir: h.root, hostId: h.id, tags: { role: 'web' }, netns: h.net.ns }));
  }));
  const hostList = async (as: AsCaller): Promise<Record<string, boolean>> =>
    Object.fromEntries(((await as(viewer, ['hosts', 'list', '--json'])).json?.hosts ?? []).map((h: any) => [h.id, h.connected === true]));
  for (const h of hosts) {
    await waitFor(`${h.id} to connect`, () => /connected to the coordinator/.test(agents[h.id]!.output()), AGENT_MS);
    t.match(agents[h.id]!.output(), /enrolled: mutual TLS to the coordinator/, `${h.id} speaks mutual TLS`);
  }
  const up = await hostList(fromA1);
  t.same([up.h1, up.h2], [true, true], 'the coordinator has h1 and h2 connected');

  // A viewer cannot create a deployment; a deployer can, and it runs on both hosts.
  const src = path.join(dir, 'bundle');
  await writeBundle(src, {
    appspec: { version: 0.0, os: 'linux', hooks: hooksFor(['ApplicationStart']) },
    // Written into the revision's directory on the host: records which network it ran in.
    scripts: { 'scripts/ApplicationStart.sh': 'PATH="$PATH:/usr/sbin:/sbin" ip -4 -o addr show dev eth0 > "$FERRY_REVISION_DIR/ran-on"' },
  });
  const bundle = pack(src, path.join(dir, 'v1.tgz'), 'tgz');
  const create = ['deploy', 'create', '--app', 'shop', '--group', 'web', '--revision', 'latest'];
  const [pushed, denied] = await Promise.all([fromA1(deployer, ['revision', 'push', bundle, '--app', 'shop']), fromA1(viewer, create)]);
  t.equal(pushed.code, 0, `a deployer pushes a revision: ${pushed.stderr}`);
  expectAudit({ case: 'deployer pushes a revision', action: 'ControlService/UploadRevision', outcome: 'ok', actor: actorOf(deployer), from: h1net.address });
  t.equal(denied.code, 1, 'a viewer cannot create a deployment (exit 1: refused)');
  t.match(denied.stderr, /has role viewer; CreateDeployment needs deployer/);
  expectAudit({ case: 'viewer creates a deployment', action: 'ControlService/CreateDeployment', outcome: 'refused', actor: actorOf(viewer), from: h1net.address, message: /needs deployer/ });
  const deployed = await fromA2(deployer, [...create, '--wait', '--json']);
  t.equal(deployed.code, 0, `a deployer deploys over mutual TLS: ${deployed.stderr.slice(-400)}`);
  t.same(deployed.json?.hosts?.map((h: any) => [h.hostId, h.status]).sort(), [['h1', 'Succeeded'], ['h2', 'Succeeded']], 'on both hosts');
  expectAudit({ case: 'deployer creates a deployment', action: 'ControlService/CreateDeployment', outcome: 'ok', actor: actorOf(deployer), from: h2net.address,
    target: { 'result.deployment.id': deployed.json?.deployment?.id } });
  for (const h of hosts) {
    const files = (await fs.readdir(h.root, { recursive: true })).filter(f => f.endsWith(`deployment-archive${path.sep}ran-on`));
    t.equal(files.length, 1, `the hook ran once on ${h.id}`);
    const ranOn = await fs.readFile(path.join(h.root, files[0] ?? 'missing'), 'utf8').catch(() => '');
    t.match(ranOn, `inet ${h.net.address}/24`, `on ${h.id}, inside its own network namespace`);
  }

  // The refusals, side by side: none of them changes what another one sees.
  await Promise.all([
    // A plaintext client is refused: the CLI with no CA to trust (and it will not send a token in
    // plaintext at all), and an agent that never enrolled.
    (async () => {
      const noCa = { FERRY_CA: '', FERRY_CA_FINGERPRINT: '' };
      const plain = await fromA2(undefined, ['app', 'list'], noCa);
      t.equal(plain.code, 6, 'a plaintext CLI cannot talk to it (exit 6)');
      t.match(plain.stderr, /speaks TLS, and ferry talked plaintext to it/);
      expectAudit({ case: 'plaintext CLI', action: 'tls-handshake', outcome: 'refused', actor: 'anonymous', from: h2net.address });
      const plainWithToken = await fromA2(viewer, ['app', 'list'], noCa);
      t.equal(plainWithToken.code, 2, 'nor send a token in plaintext: the CLI refuses first (usage, exit 2)');
      t.match(plainWithToken.stderr, /a token is only sent over TLS/);
    })(),
    (async () => {
      const stray = track(await startAgent(t, { coordinator: c.address, rootDir: path.join(dir, 'stray'), hostId: 'h7', tags: { role: 'web' }, netns: h1net.ns }));
      await waitFor('the un-enrolled agent to fail to register', () => /could not register with the coordinator/.test(stray.output()), AGENT_MS);
      t.match(stray.output(), /not enrolled: plaintext to the coordinator/, 'an agent that never enrolled speaks plaintext and is not let in');
      expectAudit({ case: 'plaintext agent', action: 'tls-handshake', outcome: 'refused', actor: 'anonymous', from: h1net.address });
      await stray.kill();
    })(),
    // An agent presenting another host's certificate is refused: on a2, h1's key and certificate.
    (async () => {
      const thief = path.join(dir, 'thief');
      await fs.mkdir(thief, { recursive: true });
      await fs.cp(path.join(hosts[0]!.root, 'tls'), path.join(thief, 'tls'), { recursive: true });
      const impostor = track(await startAgent(t, { coordinator: c.address, rootDir: thief, hostId: 'h2', tags: { role: 'web' }, netns: h2net.ns }));
      await waitFor('the impostor to be refused', () => /this certificate belongs to h1, not to host h2/.test(impostor.output()), AGENT_MS);
      expectAudit({ case: "h1's certificate claiming h2", action: 'AgentService/Connect', outcome: 'refused', actor: 'host:h1', from: h2net.address,
        target: { 'register.hostId': 'h2' }, message: /belongs to h1, not to host h2/ });
      await impostor.kill();
    })(),
    // Join tokens: a used one-use token and an expired one are refused, and no certificate issued.
    (async () => {
      const reused = await enrollHost({ coordinator: c.address, token: join1, fingerprint, rootDir: path.join(dir, 'h3'), hostId: 'h3', netns: h2net.ns });
      t.equal(reused.code, 1, 'a one-use token works once');
      t.match(reused.stderr, /already used/);
      expectAudit({ case: 'reused one-use token', action: 'AgentService/Enroll', outcome: 'refused', actor: joinActorOf(join1), from: h2net.address,
        target: { hostId: 'h3' }, message: /already used/ });
      t.notOk(await exists(path.join(dir, 'h3', 'tls', 'agent.crt')), 'no certificate for the reused token');
    })(),
    (async () => {
      await new Promise(r => setTimeout(r, Math.max(0, shortLivedAt + 1200 - Date.now())));
      const expired = await enrollHost({ coordinator: c.address, token: shortLived, fingerprint, rootDir: path.join(dir, 'h4'), hostId: 'h4', netns: h1net.ns });
      t.equal(expired.code, 1, 'an expired token is refused');
      t.match(expired.stderr, /has expired/);
      expectAudit({ case: 'expired token', action: 'AgentService/Enroll', outcome: 'refused', actor: joinActorOf(shortLived), from: h1net.address,
        target: { hostId: 'h4' }, message: /expired/ });
      t.notOk(await exists(path.join(dir, 'h4', 'tls', 'agent.crt')), 'no certificate for the expired token');
    })(),
  ]);
  const afterRefusals = await hostList(fromC);
  t.same([afterRefusals.h1, afterRefusals.h2, afterRefusals.h7], [true, true, undefined], 'h1 and h2 still connected; the stray agent never got in');

  // A revoked host is dropped at once and cannot reconnect; the other host is untouched.
  const revoked = await fromC(admin, ['hosts', 'revoke', 'h2']);
  t.equal(revoked.code, 0, revoked.stderr);
  t.match(revoked.stdout, /revoked 1 certificate of host h2/);
  expectAudit({ case: 'revoke h2', action: 'ControlService/RevokeHost', outcome: 'ok', actor: actorOf(admin), from: hc.address, target: { id: 'h2' } });
  await waitFor('h2 refused on reconnect', () => /was revoked/.test(agents.h2!.output()), AGENT_MS);
  expectAudit({ case: 'revoked h2 reconnects', action: 'AgentService/Connect', outcome: 'refused', actor: 'host:h2', from: h2net.address, message: /was revoked/ });
  const afterRevoke = await hostList(fromC);
  t.equal(afterRevoke.h2, false, 'h2 is out');
  t.equal(afterRevoke.h1, true, 'h1 is still connected');

  // The audit log shows each of these: who, what, from where, how it ended.
  const auditText = await checkAudit(t, fromC, admin, audit);

  // No secret in the coordinator's output, log or audit log.
  const log = await fs.readFile(path.join(data, 'logs', 'ferry-coordinator.log'), 'utf8');
  for (const secret of [admin, viewer, deployer, join1, join2, shortLived].map(tok => tok.split('.')[2]!)) {
    t.notOk((c.output() + log + auditText).includes(secret), 'no token secret in the coordinator output, log or audit log');
  }

  t.comment(`took ${((Date.now() - started) / 1000).toFixed(1)} s after the namespace check`);
});

t.test('leaves no namespace, link or process behind (root, network namespaces)', { skip: notRoot }, async t => {
  if (namespacesMade.length === 0) {
    t.fail('the test above made no namespace: nothing to check');
    return;
  }
  const left = (await listNamespaces()).filter(n => namespacesMade.includes(n));
  t.same(left, [], 'every namespace it made is gone');
  t.same(rootLinks(), linksBefore, "the machine's own links are as they were");
  t.same(pids.filter(isAlive), [], 'every process it started has ended');
});
