import { createHash } from 'node:crypto';
import t from 'tap';
import { PG_MIGRATIONS } from '../../coordinator/store/pg-migrations.js';

/**
 * The PostgreSQL store's migrations are frozen like SQLite's (migrations-frozen.test.ts): a database
 * migrated by an older coordinator and one made today hold the same schema only if no applied
 * migration's text ever changes. A change here means: revert it, and add the next migration instead.
 */
const FROZEN = [
  '687fec466f430ddfab016541177601997e4edb439ddecbc22683df7f7cb3a18b',
  '5b5b605ca4bf19f9b727f85c0e3f2e47c020041e425e9e4a86b6dcea7c7da1a3',
  '57f57eb82519a29dc0af5635155280cce72ca6760326e634b7c9cfec3a805962',
  '65687eee31c72084e39c35f1a1ed9b2954ee86d9e6ca9b70401c9d9c8db50900',
  'fdfcca97ff9b0e17dfda6ac494346d12628fdf8dd566ac00135555ce2f09bdf5',
  '9d9d6e673e109fb0a521b79d4dfabceb33a2659df2b636266cd1dae8bebe4702',
  '5220bbb7c6909449de3c5159db2f12cf756cd01037f88598c48604d2b28efc14',
];

t.test('every PostgreSQL migration is numbered in order and unchanged since it was released', async t => {
  t.equal(PG_MIGRATIONS.length, FROZEN.length, 'a new migration adds its hash here');
  PG_MIGRATIONS.forEach((m, i) => {
    t.equal(m.version, i + 1);
    t.equal(createHash('sha256').update(m.up).digest('hex'), FROZEN[i], `migration ${m.version} is unchanged`);
  });
});
