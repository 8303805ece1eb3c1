import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import t, { type Test } from 'tap';
import { freePort } from '../helpers/fleet-fixture.js';
import { ferry, startCoordinator, waitFor } from '../helpers/fleet.js';
import { startPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp.js';

/**
 * A webhook delivery the coordinator was trying when it was SIGKILLed (docs/notifications.md, "Retries"):
 * a real coordinator on SQLite, a loopback receiver that holds the first request open, a real SIGKILL and
 * a restart on the same data dir. The delivery is claimed for its request's time limit + 30 s (40 s with the
 * default 10 s limit, kept here); the restarted coordinator, the only one on its data dir, releases the dead
 * run's claims and sends it again at once. On PostgreSQL a starting replica must not: the claims there are
 * live replicas'.
 */

interface Request { at: number; event: string; delivery: string; answer(status: number): void }

/** A loopback webhook receiver that records each request and holds it open until the test answers it. */
async function holdingReceiver(t: Test): Promise<{ url: string; got: Request[] }> {
  const got: Request[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      got.push({
        at: Date.now(), event: String(req.headers['x-ferry-event']), delivery: String(req.headers['x-ferry-delivery']),
        answer: status => res.writeHead(status).end(),
      });
    });
  });
  const port = await freePort();
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise(resolve => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  return { url: `http://127.0.0.1:${port}/hook`, got };
}

/** App shop, group web, and a trigger on it: its test notification is the one delivery. */
async function givenTrigger(t: Test, address: string, url: string): Promise<void> {
  for (const cmd of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'],
    ['group', 'set-trigger', '--app', 'shop', '--group', 'web', '--name', 'ops', '--url', url, '--events', 'DeploymentStart']]) {
    const r = await ferry(address, cmd);
    t.equal(r.code, 0, `${cmd.slice(0, 2).join(' ')}: ${r.stderr}`);
  }
}

/** The trigger's counters once its delivery is recorded as delivered. */
async function deliveredTrigger(address: string): Promise<Record<string, unknown>> {
  return waitFor('the delivery to be recorded', async () => {
    const r = await ferry(address, ['group', 'show', '--app', 'shop', '--name', 'web', '--json']);
    return r.code === 0 && r.json.triggers[0].delivered === 1 && r.json.triggers[0] as Record<string, unknown>;
  });
}

t.test('a webhook delivery a SIGKILL catches in flight is sent again right after the restart, not once its claim lapses', async t => {
  const hook = await holdingReceiver(t);
  const dataDir = path.join(await tempDir(t, 'ferry-webhook-crash-'), 'data');
  // The default webhook-timeout (10 s): a claim lasts 40 s.
  const args = ['--webhook-allow', 'loopback'];
  const first = await startCoordinator(t, dataDir, args, `127.0.0.1:${await freePort()}`);
  await givenTrigger(t, first.address, hook.url);

  // The test notification's request arrives and is held open: the coordinator is killed while it waits for the answer.
  const held = await waitFor('the test notification to arrive', () => hook.got[0]);
  t.equal(held.event, 'TriggerTest');
  await first.kill('SIGKILL');
  const restarted = Date.now();
  const second = await startCoordinator(t, dataDir, args, first.address);

  const again = await waitFor('the delivery to be sent again after the restart', () => hook.got[1], 15_000);
  t.equal(again.delivery, held.delivery, 'the same delivery (same X-Ferry-Delivery): receivers dedupe by it');
  t.ok(again.at - restarted < 15_000, `sent again ${again.at - restarted} ms after the restart (its claim would lapse ${held.at + 40_000 - restarted} ms after it)`);
  again.answer(204);
  t.match(second.output(), /webhook deliveries the previous run was trying are due again.*released.*1/, 'the restart says so');
  t.match(await deliveredTrigger(second.address), { pending: 0, delivered: 1, failedAttempts: 0, lastStatus: 204 },
    'one attempt counted: the one the kill cut short is not an attempt');
  t.equal(hook.got.length, 2, 'sent twice in all');
});

t.test('on PostgreSQL a replica that starts leaves the claim of a live replica alone', async t => {
  const hook = await holdingReceiver(t);
  const server = await startPostgres(t);
  const database = await server.createDatabase();
  const dir = await tempDir(t, 'ferry-webhook-claims-pg-');
  const passwordFile = path.join(dir, 'pg-password');
  await fs.writeFile(passwordFile, `${server.password}\n`, { mode: 0o600 });
  const args = ['--webhook-allow', 'loopback', '--store', `postgres://${server.user}@127.0.0.1:${server.port}/${database}`, '--store-password-file', passwordFile];
  const a = await startCoordinator(t, path.join(dir, 'a'), args);
  await givenTrigger(t, a.address, hook.url);
  const held = await waitFor('the test notification to arrive', () => hook.got[0]);

  const client = new pg.Client({ connectionString: server.url(database) });
  await client.connect();
  t.teardown(() => client.end());
  const claims = async () => (await client.query('SELECT id, claimed_at, next_attempt_at FROM deliveries')).rows;
  const claimed = await claims();
  t.equal(claimed.length, 1);
  t.not(claimed[0].claimed_at, null, 'replica a claimed the delivery it is trying');
  // Were a starting replica to release claims, it would do so before it listens.
  const b = await startCoordinator(t, path.join(dir, 'b'), args);
  t.same(await claims(), claimed, 'replica b started and left the claim as it was');
  t.notMatch(b.output(), /previous run was trying/);
  t.equal(hook.got.length, 1, 'sent once so far: by the replica trying it');
  held.answer(204);
  t.match(await deliveredTrigger(b.address), { pending: 0, delivered: 1, failedAttempts: 0, lastStatus: 204 }, 'replica a\'s attempt recorded');
});
