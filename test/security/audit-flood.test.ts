/**
 * Attack (docs/security.md): an unauthenticated caller floods the audit log through Enroll. Each call used
 * to add a record holding its 1 MB host id (outcome `failed`, never folded), with any terminal
 * escapes in it reaching `ferry audit`.
 */
import t from 'tap';
import { auditRows, dbBytes, tlsCoordinator, unary } from '../helpers/security.js';

const MB = 1024 * 1024;
const GARBAGE_TOKEN = `fy.abcdefghij01.${'x'.repeat(43)}`;

t.test('Enroll calls with 1 MB host ids and terminal escapes add a bounded, folded, escaped audit record', async t => {
  const s = await tlsCoordinator(t);
  const api = s.agentApi();
  const enroll = (token: string, hostId: string) => unary(api.Enroll.bind(api), { token, hostId, csrPem: 'not a csr' });
  await enroll(GARBAGE_TOKEN, 'warm-up');
  const before = await dbBytes(s.data);
  const huge = 'h'.repeat(MB);
  for (let i = 0; i < 20; i++) {
    const r = await enroll(i % 2 ? GARBAGE_TOKEN : 'not-a-token', `${i}\u001b]52;c;cm0gLXJmIH4=\u0007\u001b[2J${huge}`);
    t.ok(r.err, 'refused');
    if (r.err) t.ok(r.err.details.length < 400, `the error does not echo the host id (${r.err.details.length} characters)`);
  }
  const grown = (await dbBytes(s.data)) - before;
  t.ok(grown < MB, `20 MB of host ids grew ferry.db (and its WAL) by ${grown} bytes, less than 1 MiB`);

  const json = await s.as(s.admin, ['audit', '--action', 'Enroll', '--json']);
  t.equal(json.code, 0, json.stderr);
  const records = json.stdout.trim().split('\n').map(l => JSON.parse(l));
  t.ok(records.length <= 4, `the 21 calls are at most 4 records (one per distinct refusal), got ${records.length}`);
  t.equal(records.reduce((n, r) => n + r.count, 0), 21, 'their counts add up to every call');
  for (const r of records) {
    const text = JSON.stringify(r);
    t.ok(text.length < 2000, `a record is bounded (${text.length} characters of JSON)`);
    t.notOk(/[\u0000-\u001f\u007f-\u009f]/.test(r.message + JSON.stringify(r.target)), 'no control character is stored');
  }
  const human = await s.as(s.admin, ['audit', '--action', 'Enroll']);
  t.equal(human.code, 0, human.stderr);
  t.notOk(human.stdout.includes('\u001b'), 'ferry audit prints no escape sequence of the caller\'s');
  t.match(human.stdout, /\\x1b\]52/, 'it shows them escaped');
});

t.test('an address that varies what it sends adds at most refused-call-limit records a minute, then one that counts', async t => {
  const s = await tlsCoordinator(t, ['--refused-call-limit', '10']);
  const api = s.agentApi();
  // A different (valid) host id and a different malformed token each time: no two refusals are alike.
  for (let i = 0; i < 40; i++) await unary(api.Enroll.bind(api), { token: `fy.${String(i).padStart(12, '0')}.short`, hostId: `h${i}`, csrPem: '' });
  // Read from the database: the address is now refused everything for a minute, the admin's `ferry audit` too.
  const records = auditRows(s.data).filter(r => r.outcome === 'refused');
  t.ok(records.length <= 12, `at most the limit and the fold records, got ${records.length}`);
  const many = records.find(r => r.actor === 'many');
  t.ok(many, 'the rest are counted in one record');
  t.equal(records.reduce((n, r) => n + r.count, 0), 40, 'every call is counted');
});
