import { createHmac } from 'node:crypto';
import path from 'node:path';
import t from 'tap';
import type * as Tap from 'tap';
import { Changes } from '../../coordinator/changes.js';
import { redactUrl, type FerryEvent } from '../../coordinator/domain/events.js';
import { triggerProblems } from '../../common/triggers.js';
import { createLogger } from '../../coordinator/log.js';
import {
  afterAttempt, backoffMs, codeDeployStatus, deliveryRequest, signature, triggerMessage, verifySignature,
} from '../../coordinator/notify/payload.js';
import { WebhookWorker } from '../../coordinator/notify/webhook-worker.js';
import { openStore } from '../../coordinator/store/sqlite-store.js';
import { tempDir } from '../helpers/temp.js';

const T = '2024-01-01T00:00:00.000Z';
const event = (over: Partial<FerryEvent> = {}): FerryEvent => ({
  seq: 7, at: T, kind: 'DeploymentFailure', application: 'shop', groupId: 'g-1', groupName: 'web', deploymentId: 'd-1',
  status: 'Failed', payload: {}, ...over,
});
const SETTINGS = { baseMs: 1000, maxMs: 300_000, maxAttempts: 5, maxAgeMs: 86_400_000 };

t.test('the signature is sha256=HMAC-SHA256(secret, body) in hex, checked in constant time', async t => {
  const body = '{"a":1}';
  t.equal(signature('k'.repeat(16), body), `sha256=${createHmac('sha256', 'k'.repeat(16)).update(body).digest('hex')}`);
  t.ok(verifySignature('k'.repeat(16), body, signature('k'.repeat(16), body)));
  t.notOk(verifySignature('k'.repeat(16), body + ' ', signature('k'.repeat(16), body)), 'another body');
  t.notOk(verifySignature('other-secret-xx', body, signature('k'.repeat(16), body)), 'another secret');
  t.notOk(verifySignature('k'.repeat(16), body, undefined));
  t.notOk(verifySignature('k'.repeat(16), body, 'sha256=short'));
});

t.test('a delivery request carries the body, its signature, the event kind and the delivery id', async t => {
  const job = { id: 42, triggerId: 1, triggerName: 'ops', url: 'http://x/', secret: 'secret-secret-secret', format: 'json' as const, attempts: 0, createdAt: T, event: event() };
  const { body, headers } = deliveryRequest(job);
  t.same(JSON.parse(body), triggerMessage('ops', job.event));
  t.equal(headers['X-Ferry-Signature'], signature(job.secret, body));
  t.equal(headers['X-Ferry-Event'], 'DeploymentFailure');
  t.equal(headers['X-Ferry-Delivery'], '42');
  t.equal(headers['Content-Type'], 'application/json');
  t.notOk(body.includes(job.secret) || Object.values(headers).includes(job.secret), 'the secret is never sent');
});

t.test('deployment messages have CodeDeploy\'s fields: overview per status, error information', async t => {
  const m = triggerMessage('ops', event({
    payload: { createTime: T, completeTime: '2024-01-01T00:05:00.000Z', errorCode: 'HEALTH_CONSTRAINTS', errorMessage: 'too many failed', overview: { Succeeded: 2, Failed: 1 } },
  }));
  t.same(m, {
    eventTriggerName: 'ops', eventType: 'DeploymentFailure', seq: 7, time: T, applicationName: 'shop', deploymentGroupName: 'web',
    deploymentGroupId: 'g-1', deploymentId: 'd-1', createTime: T, completeTime: '2024-01-01T00:05:00.000Z', status: 'FAILED',
    deploymentOverview: { Pending: 0, InProgress: 0, Succeeded: 2, Failed: 1, Skipped: 0, Unknown: 0 },
    errorInformation: { ErrorCode: 'HEALTH_CONSTRAINTS', ErrorMessage: 'too many failed' },
  });
  const rolled = triggerMessage('ops', event({ kind: 'DeploymentRollback', payload: { rolledBackBy: 'd-2' } }));
  t.equal(rolled.rollbackDeploymentId, 'd-2');
  t.notOk('errorInformation' in triggerMessage('ops', event({ kind: 'DeploymentSuccess', status: 'Succeeded' })), 'no error, no errorInformation');
  t.equal(codeDeployStatus('InProgress'), 'IN_PROGRESS');
});

t.test('instance messages have the host and its lifecycle events with times', async t => {
  const m = triggerMessage('ops', event({
    kind: 'InstanceFailure', hostId: 'h-1', status: 'Failed',
    payload: { hostname: 'web-1', errorCode: 'ScriptFailed', errorMessage: 'exit 3', lifecycleEvents: [
      { event: 'BeforeInstall', status: 'Succeeded', startedAt: T, endedAt: T },
      { event: 'ValidateService', status: 'Failed', startedAt: T, endedAt: T, errorCode: 'ScriptFailed' },
    ] },
  }));
  t.match(m, {
    eventType: 'InstanceFailure', deploymentId: 'd-1', instanceId: 'h-1', instanceHostname: 'web-1', instanceStatus: 'Failed', lastUpdatedAt: T,
    errorInformation: { ErrorCode: 'ScriptFailed', ErrorMessage: 'exit 3' },
    lifecycleEvents: [
      { LifecycleEvent: 'BeforeInstall', LifecycleEventStatus: 'Succeeded', StartTime: T, EndTime: T },
      { LifecycleEvent: 'ValidateService', LifecycleEventStatus: 'Failed', ErrorCode: 'ScriptFailed' },
    ],
  });
  t.match(triggerMessage('ops', event({ kind: 'TriggerTest', status: 'Test', deploymentId: undefined })), { eventType: 'TriggerTest', status: 'TEST', message: /Test notification for trigger ops/ });
});

t.test('backoff doubles from the base up to the cap, with up to half of it random', async t => {
  const rows: [number, number, number][] = [[1, 0, 500], [1, 0.999, 1000], [2, 0, 1000], [3, 0, 2000], [9, 0, 128_000], [10, 0, 150_000], [30, 0.999, 299_850]];
  for (const [attempt, random, want] of rows) t.equal(backoffMs(attempt, SETTINGS, random), want, `attempt ${attempt}, random ${random}`);
});

t.test('an attempt is delivered on 2xx, retried otherwise, given up after max attempts or age', async t => {
  const now = Date.parse(T) + 10_000;
  t.same(afterAttempt({ attempts: 0, createdAt: T }, { status: 204 }, now, SETTINGS, 0), { at: new Date(now).toISOString(), status: 204, delivered: true, gaveUp: false });
  const retry = afterAttempt({ attempts: 1, createdAt: T }, { status: 500 }, now, SETTINGS, 0);
  t.match(retry, { delivered: false, gaveUp: false, status: 500, error: 'HTTP 500', nextAttemptAt: now + 1000 });
  t.match(afterAttempt({ attempts: 0, createdAt: T }, { error: 'ECONNREFUSED' }, now, SETTINGS, 0), { error: 'ECONNREFUSED', gaveUp: false });
  t.match(afterAttempt({ attempts: 4, createdAt: T }, { status: 503 }, now, SETTINGS, 0), { gaveUp: true, error: 'HTTP 503; gave up after 5 attempt(s)' });
  t.match(afterAttempt({ attempts: 1, createdAt: T }, { status: 302 }, Date.parse(T) + 86_400_000, SETTINGS, 0), { gaveUp: true }, 'too old');
});

t.test('trigger definitions: every problem at once, naming the flag; URLs redacted for logs', async t => {
  t.same(triggerProblems({ name: 'ops', url: 'https://hooks.example.com/x', events: ['DeploymentStart'] }), []);
  t.same(triggerProblems({ name: 'no spaces', url: 'nope', events: ['Nope'] }), [
    "--name: 'no spaces' must be 1–100 letters, digits, '.', '_' or '-'",
    "--url: 'nope' is not an absolute URL (e.g. https://hooks.example.com/ferry)",
    "--events: 'Nope' is not one of DeploymentStart, DeploymentSuccess, DeploymentFailure, DeploymentStop, DeploymentRollback, DeploymentAwaitingApproval, InstanceStart, InstanceSuccess, InstanceFailure, InstanceUnknown",
  ]);
  t.match(triggerProblems({ name: 'x', url: 'file:///etc/passwd', events: [] }), [/must be http/, /at least one/]);
  t.equal(redactUrl('https://user:pw@hooks.example.com/services/T0/B0?token=abc'), 'https://…@hooks.example.com/services/T0/B0?…');
});

/** A store in a temporary dir with application `shop` and its group `web` (id g-1), closed at the end. */
async function storeWithGroup(t: Tap.Test): Promise<ReturnType<typeof openStore>> {
  const store = openStore(path.join(await tempDir(t, 'ferry-notify-'), 'ferry.db'));
  t.teardown(async () => await store.close());
  await store.createApplication({ name: 'shop', createdAt: T });
  await store.createGroup({ id: 'g-1', application: 'shop', name: 'web', tagSets: [], configName: 'OneAtATime', autoRollback: [], alarms: [], createdAt: T });
  return store;
}

t.test('the worker posts due deliveries, records failures with a retry time, and delivers on the retry', async t => {
  const store = await storeWithGroup(t);
  await store.setTrigger({ groupId: 'g-1', name: 'ops', url: 'http://receiver.invalid/hook', events: ['DeploymentStart'], secret: 'secret-secret-secret' }, T);
  let now = Date.parse(T);
  const answers = [500, 200];
  const seen: { url: string; signature: string; body: string }[] = [];
  const fakeFetch = (async (url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>;
    seen.push({ url, signature: headers['X-Ferry-Signature']!, body: String(init.body) });
    return new Response(null, { status: answers.shift() ?? 200 });
  }) as typeof fetch;
  const changes = new Changes();
  const worker = new WebhookWorker({
    store, changes, clock: { now: () => now }, log: createLogger({ level: 'error', console: false }), fetch: fakeFetch, random: () => 0,
    settings: { ...SETTINGS, timeoutMs: 1000, eventsRetained: 1000 },
  });
  worker.start();
  t.teardown(() => worker.stop());
  const until = async (what: string, fn: () => Promise<boolean>) => {
    for (let i = 0; i < 200 && !await fn(); i++) await new Promise(r => setTimeout(r, 10));
    t.ok(await fn(), what);
  };
  await until('the first attempt was made and recorded', async () => (await store.listTriggers('g-1'))[0]?.failedAttempts === 1);
  t.match((await store.listTriggers('g-1'))[0], { lastStatus: 500, lastError: 'HTTP 500', pending: 1 });
  t.equal(await store.nextDeliveryAt(), now + 500, 'retry after base/2 (random 0)');
  t.ok(verifySignature('secret-secret-secret', seen[0]!.body, seen[0]!.signature));
  now += 500;
  changes.events();
  await until('the retry delivered it', async () => (await store.listTriggers('g-1'))[0]?.delivered === 1);
  t.equal(seen.length, 2);
  t.equal(seen[1]!.body, seen[0]!.body, 'the same body again');
});

t.test('the worker removes old events on every pass, at most 20,000 at a time, the oldest first', async t => {
  const store = await storeWithGroup(t);
  const append = async (n: number) => {
    await store.transaction(async () => {
      for (let i = 0; i < n; i++) await store.appendEvent({ at: T, kind: 'DeploymentAwaitingApproval', application: 'shop', groupId: 'g-1', groupName: 'web', status: 'Queued', payload: {} });
    });
  };
  await append(25_010);
  const now = Date.parse(T); // the clock never moves: no pass waits for a minute to prune
  const changes = new Changes();
  const worker = new WebhookWorker({
    store, changes, clock: { now: () => now }, log: createLogger({ level: 'error', console: false }),
    fetch: (async () => new Response(null, { status: 200 })) as typeof fetch, random: () => 0,
    settings: { ...SETTINGS, timeoutMs: 1000, eventsRetained: 10 },
  });
  worker.start();
  t.teardown(() => worker.stop());
  const oldest = async () => (await store.listEvents({ limit: 1 }))[0]?.seq;
  const until = async (what: string, fn: () => Promise<boolean>) => {
    for (let i = 0; i < 500 && !await fn(); i++) await new Promise(r => setTimeout(r, 10));
    t.ok(await fn(), what);
  };
  await until('a first pass removed the oldest 20,000', async () => await oldest() === 20_001);
  await until('the next pass, the rest past the 10 kept', async () => await oldest() === 25_001);
  await append(500);
  changes.events();
  await until('events appended later go on the next pass too', async () => await oldest() === 25_501);
  t.equal(await store.lastEventSeq(), 25_510);
});
