import t from 'tap';
import { type Logger, RepeatedFailure } from '../../coordinator/log.js';

/** A pass failing over and over (the database down): logged once, then once a minute, then when it passes again. */
t.test('the first failure, one line a minute while it repeats, a new error at once, and the recovery', async t => {
  const lines: string[] = [];
  const record = (level: string) => (message: string, fields: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
  };
  const log = { error: record('error'), info: record('info') } as unknown as Logger;
  let now = 0;
  const f = new RepeatedFailure(log, 'scheduler pass failed', 'scheduler', () => now);
  f.succeeded();
  t.same(lines, [], 'nothing to say while it passes');
  for (; now < 59_000; now += 1000) f.failed('store unreachable');
  t.equal(lines.length, 1, '59 failures in a minute: one line');
  t.match(lines[0], /^error scheduler pass failed .*"error":"store unreachable"/);
  now = 61_000;
  f.failed('store unreachable');
  t.equal(lines.length, 2);
  t.match(lines[1], /^error scheduler pass failed \(still\) .*"failures":60,"failing_s":61/, 'a minute on: how many and for how long');
  now = 62_000;
  f.failed('disk full');
  t.match(lines[2], /^error scheduler pass failed .*"error":"disk full"/, 'another error is logged at once');
  now = 70_000;
  f.succeeded();
  t.match(lines[3], /^info scheduler pass failed: passing again .*"failures":61,"failing_s":70/);
  f.succeeded();
  t.equal(lines.length, 4, 'said once');
});
