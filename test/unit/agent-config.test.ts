import t, { type Test } from 'tap';
import { defaultRootDir, scrubEnvironment } from '../../agent/config.js';
import { parseDuration, parsePositiveInt, parseSize } from '../../common/parse.js';
import { isFerryError } from '../../common/errors.js';

/** The error `fn` throws; fails the test when it throws nothing. */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, got none');
}

type Parser = (flag: string, raw: string) => number;

function table(
  t: Test,
  parse: Parser,
  flag: string,
  valid: [raw: string, expect: number][],
  invalid: [raw: string, message: string][],
) {
  for (const [raw, expect] of valid) t.equal(parse(flag, raw), expect, `'${raw}' is ${expect}`);
  for (const [raw, message] of invalid) {
    const err = errorOf(() => parse(flag, raw));
    t.ok(isFerryError(err, 'INVALID_ARGUMENT'), `'${raw}' is INVALID_ARGUMENT`);
    t.equal(err.message, message, `'${raw}' is rejected naming ${flag}`);
  }
}

t.test('parseSize reads byte counts with binary units', async t => {
  const notASize = (raw: string) => `--max-bundle-size: '${raw}' is not a size (e.g. 512M, 2G)`;
  table(
    t,
    parseSize,
    '--max-bundle-size',
    [
      ['1048576', 1048576],
      ['1K', 1024],
      ['1k', 1024],
      ['512M', 512 * 1024 ** 2],
      ['512MB', 512 * 1024 ** 2],
      ['512MiB', 512 * 1024 ** 2],
      ['2G', 2 * 1024 ** 3],
      ['2g', 2 * 1024 ** 3],
      ['1T', 1024 ** 4],
      ['1.5K', 1536],
      [' 2 G ', 2 * 1024 ** 3],
      ['10B', 10],
    ],
    [
      ['', notASize('')],
      ['abc', notASize('abc')],
      ['-1', notASize('-1')],
      ['1X', notASize('1X')],
      ['1e3', notASize('1e3')],
      ['0', '--max-bundle-size: must be greater than zero'],
      ['0.5', '--max-bundle-size: must be greater than zero'],
    ],
  );
});

t.test('parseDuration reads milliseconds, seconds by default', async t => {
  const notADuration = (raw: string) => `--kill-grace: '${raw}' is not a duration (e.g. 5, 500ms, 2m, 30d)`;
  table(
    t,
    parseDuration,
    '--kill-grace',
    [
      ['5', 5000],
      ['1.5', 1500],
      ['500ms', 500],
      ['30s', 30_000],
      ['2m', 120_000],
      ['1h', 3_600_000],
      ['2d', 172_800_000],
      [' 10s ', 10_000],
      ['0', 0],
    ],
    [
      ['', notADuration('')],
      ['abc', notADuration('abc')],
      ['-1', notADuration('-1')],
      ['5w', notADuration('5w')],
      ['5 s', notADuration('5 s')],
      ['5MS', notADuration('5MS')],
    ],
  );
});

t.test('parsePositiveInt accepts whole numbers from 1', async t => {
  const notPositive = (raw: string) => `--retention: '${raw}' must be a positive integer`;
  table(
    t,
    parsePositiveInt,
    '--retention',
    [
      ['1', 1],
      ['5', 5],
      ['007', 7],
      [' 3 ', 3],
    ],
    [
      ['0', notPositive('0')],
      ['-3', notPositive('-3')],
      ['1.5', notPositive('1.5')],
      ['abc', notPositive('abc')],
      ['', notPositive('')],
      ['1e3', notPositive('1e3')],
    ],
  );
});

t.test('scrubEnvironment hides Ferry settings from hook scripts', async t => {
  const cases: { name: string; env: NodeJS.ProcessEnv; expect: Record<string, string> }[] = [
    {
      name: "FERRY_* variables are dropped and others kept",
      env: { FERRY_TOKEN: 'secret', FERRY_COORDINATOR: 'h:1', PATH: '/bin', HOME: '/root', ferry_lower: 'kept', MY_FERRY_X: 'kept', FERRYMAN: 'kept' },
      expect: { PATH: '/bin', HOME: '/root', ferry_lower: 'kept', MY_FERRY_X: 'kept', FERRYMAN: 'kept' },
    },
    {
      name: 'undefined values are dropped',
      env: { PATH: '/bin', GONE: undefined },
      expect: { PATH: '/bin' },
    },
    {
      name: 'a missing PATH is filled with the standard one',
      env: { HOME: '/root' },
      expect: { HOME: '/root', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    },
    {
      name: 'an empty PATH is filled with the standard one',
      env: { PATH: '' },
      expect: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    },
  ];
  for (const c of cases) {
    const before = { ...c.env };
    t.strictSame(scrubEnvironment(c.env), c.expect, c.name);
    t.strictSame(c.env, before, `${c.name}: the input is not modified`);
  }
});

t.test('defaultRootDir is the CodeDeploy root for root and a home directory otherwise', async t => {
  const cases = [
    { uid: 0, home: '/root', expect: '/opt/ferry-agent/deployment-root' },
    { uid: 1000, home: '/home/dev', expect: '/home/dev/.ferry-agent/deployment-root' },
    { uid: -1, home: '/tmp/h/', expect: '/tmp/h/.ferry-agent/deployment-root' },
  ];
  for (const c of cases) t.equal(defaultRootDir({ uid: c.uid, home: c.home }), c.expect, `uid ${c.uid}`);
});
