import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { freePort } from '../helpers/fleet-fixture.js';
import { ferry, startCoordinator, waitFor } from '../helpers/fleet.js';
import { tempDir } from '../helpers/temp.js';

/**
 * A webhook delivery the coordinator was trying when it was SIGKILLed (docs/notifications.md, "Retries"):
 * a real coordinator on SQLite, a loopback receiver that holds the first request open, a real SIGKILL and
 * a restart on the same data dir. The delivery is claimed for its request's time limit + 30 s (40 s with the
 * default 10 s limit, kept here); the restarted coordinator, the only one on its data dir, releases the dead
 * run's claims and sends it again at once.
 */

interface Request { at: number; delivery: string; event: string; answer(status: number): void }

t.test('a webhook delivery a SIGKILL catches in flight is sent again right after the restart, not once its claim lapses', async t => {
  const got: Request[] = [];
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      open.add(res);
      got.push({
        at: Date.now(), delivery: String(req.headers['x-ferry-delivery']), event: String(req.headers['x-ferry-event']),
        answer: status => {
          open.delete(res);
          res.statusCode = status;
          res.end();
        },
      });
    });
  });
  const port = await freePort();
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise(resolve => {
    server.closeAllConnections();
    server.close(resolve);
  }));

  const dataDir = path.join(await tempDir(t, 'ferry-webhook-crash-'), 'data');
  // The default webhook-timeout (10 s): a claim lasts 40 s.
  const args = ['--webhook-allow', 'loopback'];
  const first = await startCoordinator(t, dataDir, args, `127.0.0.1:${await freePort()}`);
  for (const cmd of [['app', 'create', 'shop'], ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web']]) {
    const r = await ferry(first.address, cmd);
    t.equal(r.code, 0, `${cmd.join(' ')}: ${r.stderr}`);
  }
  const set = await ferry(first.address, ['group', 'set-trigger', '--app', 'shop', '--group', 'web', '--name', 'ops',
    '--url', `http://127.0.0.1:${port}/hook`, '--events', 'DeploymentStart']);
  t.equal(set.code, 0, set.stderr);

  // The test notification's request arrives and is held open: the coordinator is killed while it waits for the answer.
  const held = await waitFor('the test notification to arrive', () => got[0]);
  t.equal(held.event, 'TriggerTest');
  await first.kill('SIGKILL');
  const restarted = Date.now();
  const second = await startCoordinator(t, dataDir, args, first.address);

  const again = await waitFor('the delivery to be sent again after the restart', () => got[1], 15_000);
  t.equal(again.delivery, held.delivery, 'the same delivery (same X-Ferry-Delivery): receivers dedupe by it');
  t.ok(again.at - restarted < 15_000, `sent again ${again.at - restarted} ms after the restart (its claim would lapse ${held.at + 40_000 - restarted} ms after it)`);
  again.answer(204);
  t.match(second.output(), /webhook deliveries the previous run was trying are due again.*released.*1/, 'the restart says so');

  const shown = await waitFor('the delivery to be recorded', async () => {
    const r = await ferry(second.address, ['group', 'show', '--app', 'shop', '--name', 'web', '--json']);
    return r.code === 0 && r.json.triggers[0].delivered === 1 && r.json.triggers[0];
  });
  t.match(shown, { pending: 0, delivered: 1, failedAttempts: 0, lastStatus: 204 }, 'one attempt counted: the one the kill cut short is not an attempt');
  t.equal(got.length, 2, 'sent twice in all');
  for (const res of open) res.end();
});
