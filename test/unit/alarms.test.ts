import t from 'tap';
import { FerryError } from '../../common/errors.js';
import { ALARM_FORMS, type AlarmSpec, defaultAlarmName, formatAlarm, parseAlarm } from '../../coordinator/domain/alarms.js';

/** The message of the error `fn` throws; fails the test when it throws none or not a FerryError. */
function errorOf(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FerryError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

const spec = (s: Partial<AlarmSpec> & Pick<AlarmSpec, 'name' | 'kind'>): AlarmSpec => ({ timeoutMs: 5000, forMs: 0, ...s });

t.test('every form parses, with defaults, and formats back to its canonical text', async t => {
  const cases: { name: string; text: string; expected: AlarmSpec; canonical?: string }[] = [
    { name: 'cpu above a percentage', text: 'cpu > 80%', expected: spec({ name: 'cpu', kind: 'cpu', thresholdPercent: 80 }) },
    {
      name: 'keywords are case-insensitive; blanks and the % sign are optional', text: 'CPU>80.5',
      expected: spec({ name: 'cpu', kind: 'cpu', thresholdPercent: 80.5 }), canonical: 'cpu > 80.5%',
    },
    { name: 'memory', text: 'memory > 90%', expected: spec({ name: 'memory', kind: 'memory', thresholdPercent: 90 }) },
    { name: 'the edges of the percent range', text: 'memory > 0%', expected: spec({ name: 'memory', kind: 'memory', thresholdPercent: 0 }) },
    { name: 'disk of a path', text: 'disk(/var) > 85%', expected: spec({ name: 'disk:/var', kind: 'disk', path: '/var', thresholdPercent: 85 }) },
    {
      name: 'disk with blanks inside the parentheses', text: 'Disk( / ) > 100 %',
      expected: spec({ name: 'disk:/', kind: 'disk', path: '/', thresholdPercent: 100 }), canonical: 'disk(/) > 100%',
    },
    {
      name: 'http GET, default timeout 2s', text: 'http GET http://127.0.0.1:8080/health',
      expected: spec({ name: 'http:http://127.0.0.1:8080/health', kind: 'http', url: 'http://127.0.0.1:8080/health', timeoutMs: 2000 }),
    },
    {
      name: 'a named https alarm with a timeout and a for window; the URL normalised', text: 'web-5xx: HTTP get HTTPS://Example.com timeout 3s for 30s',
      expected: spec({ name: 'web-5xx', kind: 'http', url: 'https://example.com/', timeoutMs: 3000, forMs: 30_000 }),
      canonical: 'web-5xx: http GET https://example.com/ timeout 3s for 30s',
    },
    {
      name: 'tcp, default timeout 2s', text: 'tcp 127.0.0.1:5432',
      expected: spec({ name: 'tcp:127.0.0.1:5432', kind: 'tcp', address: '127.0.0.1:5432', timeoutMs: 2000 }),
    },
    {
      name: 'tcp to an IPv6 host; clauses in either order', text: 'db: tcp [::1]:5432 for 10s timeout 500ms',
      expected: spec({ name: 'db', kind: 'tcp', address: '[::1]:5432', timeoutMs: 500, forMs: 10_000 }),
      canonical: 'db: tcp [::1]:5432 timeout 500ms for 10s',
    },
    {
      name: 'command, default timeout 10s; the default name is the program\'s base name', text: 'command /usr/local/bin/check-app --quick',
      expected: spec({ name: 'command:check-app', kind: 'command', argv: ['/usr/local/bin/check-app', '--quick'], timeoutMs: 10_000 }),
    },
    {
      name: 'command arguments: double quotes group words and protect keywords', text: 'command /bin/check "two words" --opt="a b" "for" 3 timeout 1s',
      expected: spec({ name: 'command:check', kind: 'command', argv: ['/bin/check', 'two words', '--opt=a b', 'for', '3'], timeoutMs: 1000 }),
      canonical: 'command /bin/check "two words" "--opt=a b" "for" 3 timeout 1s',
    },
    {
      name: 'for with every unit', text: 'cpu > 80% FOR 2m',
      expected: spec({ name: 'cpu', kind: 'cpu', thresholdPercent: 80, forMs: 120_000 }), canonical: 'cpu > 80% for 2m',
    },
    { name: 'for in hours', text: 'memory > 95% for 1h', expected: spec({ name: 'memory', kind: 'memory', thresholdPercent: 95, forMs: 3_600_000 }) },
    {
      name: 'for in fractions', text: 'cpu > 80% for 1.5s',
      expected: spec({ name: 'cpu', kind: 'cpu', thresholdPercent: 80, forMs: 1500 }), canonical: 'cpu > 80% for 1500ms',
    },
    { name: 'for 0s is the default', text: 'cpu > 80% for 0s', expected: spec({ name: 'cpu', kind: 'cpu', thresholdPercent: 80 }), canonical: 'cpu > 80%' },
    {
      name: 'a name equal to the default name is not repeated', text: 'cpu: cpu > 80%',
      expected: spec({ name: 'cpu', kind: 'cpu', thresholdPercent: 80 }), canonical: 'cpu > 80%',
    },
  ];
  for (const c of cases) {
    const parsed = parseAlarm(c.text);
    t.same(parsed, c.expected, `${c.name}: parsed`);
    const text = formatAlarm(parsed);
    t.equal(text, c.canonical ?? c.text, `${c.name}: formatted`);
    t.same(parseAlarm(text), parsed, `${c.name}: round trip`);
  }
});

t.test('the forms shown in error messages all parse', async t => {
  for (const form of ALARM_FORMS) t.doesNotThrow(() => parseAlarm(form.replace(/ \[timeout \w+\]$/, '')), form);
});

t.test('default names', async t => {
  t.equal(defaultAlarmName({ kind: 'cpu' }), 'cpu');
  t.equal(defaultAlarmName({ kind: 'disk', path: '/data' }), 'disk:/data');
  t.equal(defaultAlarmName({ kind: 'command', argv: ['check'] }), 'command:check');
});

t.test('bad alarms are INVALID_ARGUMENT, naming the problem and showing the accepted forms', async t => {
  const cases: { name: string; text: string; problem: string }[] = [
    { name: 'empty', text: '  ', problem: 'the alarm is empty' },
    { name: 'a percentage above 100', text: 'cpu > 120%', problem: 'threshold 120% is out of range (0-100%)' },
    { name: 'a negative percentage', text: 'memory > -5%', problem: "'-5%' is not a percentage (0-100%)" },
    { name: 'not a number', text: 'disk(/var) > lots', problem: "'lots' is not a percentage (0-100%)" },
    { name: 'another comparison', text: 'cpu >= 80%', problem: "only '>' is supported, not '>=': write 'cpu > PERCENT%'" },
    { name: 'no comparison', text: 'cpu 80%', problem: "a cpu alarm is written 'cpu > PERCENT%'" },
    { name: 'disk without a path', text: 'disk > 80%', problem: "a disk alarm is written 'disk(PATH) > PERCENT%'" },
    { name: 'a relative disk path', text: 'disk(var) > 80%', problem: "disk path 'var' is not absolute" },
    { name: 'an unknown kind', text: 'load > 5', problem: "unknown alarm kind 'load' (known: cpu, memory, disk, http, tcp, command)" },
    { name: 'a name and no expression', text: 'web:', problem: 'the alarm has no expression' },
    { name: 'an ftp URL', text: 'http GET ftp://example.com/x', problem: "'ftp://example.com/x' is not an http:// or https:// URL" },
    { name: 'not a URL', text: 'http GET /health', problem: "'/health' is not a URL (e.g. http://127.0.0.1:8080/health)" },
    { name: 'no method', text: 'http http://127.0.0.1/', problem: "the method is missing: write 'http GET URL'" },
    { name: 'another method', text: 'http POST http://127.0.0.1/', problem: "method 'POST' is not supported: only GET" },
    { name: 'no URL', text: 'http GET', problem: 'the URL is missing' },
    { name: 'something after the URL', text: 'http GET http://a/ please', problem: "unexpected 'please' after the URL" },
    { name: 'a bare URL', text: 'http://127.0.0.1/health', problem: "an http alarm is written 'http GET URL'" },
    { name: 'a tcp address without a port', text: 'tcp db.local', problem: "tcp address 'db.local' has no port: write HOST:PORT" },
    { name: 'a tcp address with an empty port', text: 'tcp db.local:', problem: "tcp address 'db.local:' has no port: write HOST:PORT" },
    { name: 'a tcp port out of range', text: 'tcp db.local:70000', problem: "tcp port '70000' is not a port number (1-65535)" },
    { name: 'tcp without an address', text: 'tcp', problem: "a tcp alarm is written 'tcp HOST:PORT'" },
    { name: 'a command without a program', text: 'command', problem: 'the command alarm names no program to run' },
    { name: 'an unclosed quote', text: 'command /bin/x "a b', problem: 'a double quote is not closed' },
    { name: 'a duration without a unit', text: 'cpu > 80% for 30', problem: "'for 30': '30' is not a duration (a number with ms, s, m or h: 500ms, 30s, 2m)" },
    { name: 'a duration that is a word', text: 'tcp a:1 timeout soon', problem: "'timeout soon': 'soon' is not a duration (a number with ms, s, m or h: 500ms, 30s, 2m)" },
    { name: 'a clause without a duration', text: 'cpu > 80% for', problem: "'for' needs a duration (e.g. for 30s)" },
    { name: 'a clause given twice', text: 'cpu > 80% for 1m for 2m', problem: "'for' is given twice" },
    { name: 'a zero timeout', text: 'tcp a:1 timeout 0s', problem: 'timeout 0s is out of range (more than 0, at most 1h)' },
    { name: 'a for window above a day', text: 'cpu > 1% for 25h', problem: 'for 25h is out of range (at most 24h)' },
    { name: 'a timeout on a system metric', text: 'cpu > 80% timeout 2s', problem: "'timeout' applies to http, tcp and command alarms, not cpu" },
    { name: 'a name too long', text: `${'n'.repeat(64)}: cpu > 1%`, problem: `the name '${'n'.repeat(64)}' is longer than 63 characters` },
  ];
  for (const c of cases) {
    const err = errorOf(() => parseAlarm(c.text));
    t.equal(err.code, 'INVALID_ARGUMENT', `${c.name}: code`);
    const [problem, forms] = err.message.split('. Accepted forms: ');
    t.equal(problem, `alarm '${c.text.trim()}': ${c.problem}`, `${c.name}: names the problem`);
    t.match(forms, /^\[NAME:\] cpu > 80% \| memory > 90% \| disk\(\/var\) > 85% \| http GET .* \| tcp .* \| command .*; each with an optional 'for 30s'$/,
      `${c.name}: shows the accepted forms`);
  }
});

t.test('formatAlarm refuses what the syntax cannot say', async t => {
  t.throws(() => formatAlarm(spec({ name: 'x', kind: 'command', argv: ['/bin/echo', 'say "hi"'], timeoutMs: 10_000 })),
    { code: 'INVALID_ARGUMENT', message: /contains a double quote/ });
});
