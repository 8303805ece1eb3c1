import t from 'tap';
import { FerryError } from '../../common/errors.js';
import {
  formatTagSet,
  formatTagSets,
  matchesTagSets,
  parseHostTag,
  parseTagFilter,
  parseTagSet,
} from '../../coordinator/domain/tags.js';
import type { TagFilter, TagSets } from '../../coordinator/domain/types.js';

/** What every parse error looks like: a FerryError with code INVALID_ARGUMENT. */
const invalid = (message?: RegExp) => ({ name: 'FerryError', code: 'INVALID_ARGUMENT', ...(message ? { message } : {}) });

t.test('a tag filter is key, =value or key=value', async t => {
  const cases: { name: string; text: string; expected: TagFilter }[] = [
    { name: 'a bare key selects by key only', text: 'env', expected: { key: 'env' } },
    { name: '=value selects by value only', text: '=prod', expected: { value: 'prod' } },
    { name: 'key=value selects by both', text: 'env=prod', expected: { key: 'env', value: 'prod' } },
    { name: 'the value may contain =', text: 'opts=a=b', expected: { key: 'opts', value: 'a=b' } },
    { name: 'key= selects an empty value', text: 'env=', expected: { key: 'env', value: '' } },
    { name: 'surrounding blanks are trimmed', text: '  Name=web 1 ', expected: { key: 'Name', value: 'web 1' } },
  ];
  for (const c of cases) t.same(parseTagFilter(c.text), c.expected, c.name);
});

t.test('a tag filter that names nothing is INVALID_ARGUMENT', async t => {
  const cases: { name: string; text: string; message: RegExp }[] = [
    { name: 'an empty filter', text: '', message: /empty tag filter/ },
    { name: 'a blank filter', text: '   ', message: /empty tag filter/ },
    { name: 'a lone =', text: '=', message: /names neither a key nor a value/ },
  ];
  for (const c of cases) t.throws(() => parseTagFilter(c.text), invalid(c.message), c.name);
  t.throws(() => parseTagFilter(''), FerryError, 'the error is a FerryError');
});

t.test('a tag set is a comma-separated list of filters', async t => {
  const cases: { name: string; text: string; expected: TagFilter[] }[] = [
    { name: 'one filter', text: 'Name=AppVersion-ABC', expected: [{ key: 'Name', value: 'AppVersion-ABC' }] },
    {
      name: 'three kinds of filter, blanks around commas ignored',
      text: 'role=web, =canary ,team',
      expected: [{ key: 'role', value: 'web' }, { value: 'canary' }, { key: 'team' }],
    },
  ];
  for (const c of cases) t.same(parseTagSet(c.text), c.expected, c.name);
  const bad: { name: string; text: string; message: RegExp }[] = [
    { name: 'an empty set', text: '', message: /empty tag set/ },
    { name: 'an empty filter between commas', text: 'a,,b', message: /filter 2 is empty/ },
    { name: 'a trailing comma', text: 'a=1,', message: /filter 2 is empty/ },
    { name: 'a lone = in the list', text: 'a,=', message: /names neither a key nor a value/ },
  ];
  for (const c of bad) t.throws(() => parseTagSet(c.text), invalid(c.message), `${c.name} is INVALID_ARGUMENT`);
});

t.test('tag sets format for people and round-trip through the parser', async t => {
  const cases: { name: string; sets: TagSets; expected: string }[] = [
    { name: 'no sets say they match nothing', sets: [], expected: 'no tag sets (matches no host)' },
    { name: 'one set of alternatives', sets: [[{ key: 'role', value: 'web' }, { key: 'role', value: 'api' }]], expected: 'role=web OR role=api' },
    {
      name: 'the three-set example',
      sets: [[{ key: 'Name', value: 'AppVersion-ABC' }], [{ key: 'Region', value: 'North' }], [{ key: 'Type', value: 't2.medium' }]],
      expected: 'Name=AppVersion-ABC AND Region=North AND Type=t2.medium',
    },
    {
      name: 'alternatives inside several sets are bracketed',
      sets: [[{ key: 'role', value: 'web' }, { value: 'canary' }], [{ key: 'env' }]],
      expected: '(role=web OR =canary) AND env',
    },
  ];
  for (const c of cases) t.equal(formatTagSets(c.sets), c.expected, c.name);
  for (const text of ['env', '=prod', 'env=prod', 'env=', 'a=1,=b,c']) {
    t.equal(formatTagSet(parseTagSet(text)), text, `'${text}' round-trips`);
  }
});

t.test('tag sets match with OR within a set and AND across sets', async t => {
  const example: TagSets = [
    [{ key: 'Name', value: 'AppVersion-ABC' }],
    [{ key: 'Region', value: 'North' }],
    [{ key: 'Type', value: 't2.medium' }],
  ];
  const web: TagSets = [[{ key: 'role', value: 'web' }, { key: 'role', value: 'api' }], [{ key: 'env', value: 'prod' }]];
  const cases: { name: string; tags: Record<string, string>; sets: TagSets; expected: boolean }[] = [
    { name: 'the example selects a host carrying all three tags', tags: { Name: 'AppVersion-ABC', Region: 'North', Type: 't2.medium' }, sets: example, expected: true },
    { name: 'the example ignores extra tags', tags: { Name: 'AppVersion-ABC', Region: 'North', Type: 't2.medium', Owner: 'ops' }, sets: example, expected: true },
    { name: 'the example rejects a host missing one tag', tags: { Name: 'AppVersion-ABC', Region: 'North' }, sets: example, expected: false },
    { name: 'the example rejects a host with one wrong value', tags: { Name: 'AppVersion-ABC', Region: 'South', Type: 't2.medium' }, sets: example, expected: false },
    { name: 'either alternative of a set will do (first)', tags: { role: 'web', env: 'prod' }, sets: web, expected: true },
    { name: 'either alternative of a set will do (second)', tags: { role: 'api', env: 'prod' }, sets: web, expected: true },
    { name: 'an alternative still needs every other set', tags: { role: 'api', env: 'dev' }, sets: web, expected: false },
    { name: 'a key-only filter matches any value', tags: { env: '' }, sets: [[{ key: 'env' }]], expected: true },
    { name: 'a key-only filter needs the key', tags: { other: 'env' }, sets: [[{ key: 'env' }]], expected: false },
    { name: 'a value-only filter matches under any key', tags: { stage: 'prod' }, sets: [[{ value: 'prod' }]], expected: true },
    { name: 'a value-only filter needs the value', tags: { prod: 'x' }, sets: [[{ value: 'prod' }]], expected: false },
    { name: 'an empty value matches only an empty value', tags: { env: 'prod' }, sets: [[{ key: 'env', value: '' }]], expected: false },
    { name: 'matching is case-sensitive', tags: { Env: 'Prod' }, sets: [[{ key: 'env', value: 'prod' }]], expected: false },
    { name: 'inherited properties are not tags', tags: {}, sets: [[{ key: 'constructor' }]], expected: false },
    { name: 'no sets match nothing: a group must select explicitly', tags: { env: 'prod' }, sets: [], expected: false },
    { name: 'an empty set matches nothing', tags: { env: 'prod' }, sets: [[]], expected: false },
  ];
  for (const c of cases) t.equal(matchesTagSets(c.tags, c.sets), c.expected, c.name);
});

t.test("an agent's --tag is key=value with a required key", async t => {
  const cases: { name: string; text: string; expected: { key: string; value: string } }[] = [
    { name: 'key and value', text: 'role=web', expected: { key: 'role', value: 'web' } },
    { name: 'an empty value after =', text: 'canary=', expected: { key: 'canary', value: '' } },
    { name: 'a bare key has an empty value', text: 'canary', expected: { key: 'canary', value: '' } },
    { name: 'the value may contain =', text: 'opts=a=b', expected: { key: 'opts', value: 'a=b' } },
  ];
  for (const c of cases) t.same(parseHostTag(c.text), c.expected, c.name);
  for (const text of ['', '=web', '  ']) {
    t.throws(() => parseHostTag(text), invalid(/has no key/), `'${text}' has no key: INVALID_ARGUMENT`);
  }
});
