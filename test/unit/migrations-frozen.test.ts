import { createHash } from 'node:crypto';
import t from 'tap';
import { MIGRATIONS } from '../../coordinator/store/migrations.js';

/**
 * Migrations are frozen text: a database migrated long ago and one made today must hold the same
 * schema, so no migration may change once released. These are the SHA-256s of each one's SQL; a
 * changed hash means an applied migration was edited (add the next migration instead). A new
 * migration adds its hash here.
 */
const FROZEN: readonly string[] = [
  '789c4c78dc3a406aecfa2f7ff8d252eb0263b3e874063ada29e7e1efefe3272c',
  '896a91d9affcb73b28063d753883526c59d932f00cfc695f45e16304d2f6127e',
  '4a97c0b7d9456054b9b2c422a22bf034744ed86f77e50f8adfcdddd7898a708a',
  '5a20c0919c017fc1f427dc7427e7c7d5c8f30b9aae6ef2dc1fa3e816064f2cec',
  'e69adf858de1827ee5fd0f8a86912f652f75f374c5f72686d3ead042abc05ff7',
  '1b7127b388af60bdac9e1b14aebd433774a0c8d88d2670a2ac37c6d034612e33',
  'b33b6cd90b6099f0d20626e3d5e9cde998583639d406761600db239af93d0fa0',
  'c726584c31a185270aec565a3a18067473d2221d3ecf142e7f955b82f357496a',
  '9c15ca0c272ef790dd442e0a93ae09134b176a77eea23fd1c07c81f3e4a88975',
  'e7bdbd1d53aa652eca4247cfc2fe2cd4dbc2ddb1658454094ad23119cb30b45b',
  '7ff44ca6da50893e28c677d9458e7032369964cbdbf50949665bcc3b10345c5c',
  '15c01cf9821e19397d9cbe72c47e8e71a3fedddb551d620817e60372c4963281',
  'b3b636bcf22053d0c438bc8b413afbbeb2ddc83a6c16f1fb33d73531f4659f1a',
  '37d808d0e3740bb7946edafc21f6facaa98b496b107cf179bc8f5b92ac5145a9',
  '5f5b3bfcd39d98d3bb3a55b585ee865f6a2178be1f3e4775707bf399983dee4b',
  '67043e9090b8b941407b87346e337eb12c5030a65f69914f506fec2b6395d358',
  'd1bc7b07e232d6c63b854308997af2f172b3b58fcd86ccaea82e6cfea53fcc94',
  'f86b5f09c4e45e4d2547528b92bbcdc3adce82c414b098339d5681f8174ccc77',
  '4a0d23e2afdc8d10bc0936fb565eb3b0982a7955d0bac178f13bb93c6240b5d4',
  'c2dba52196865b54179d73cd9221e081136406f482898915e08b891784215dab',
  '907c77fc5026cdc2cc770c91c6c26551ae52130309250642eb9b0f1418ec90ca',
  '0064a605fb414253237e78cd17c278dbba176f6a5daa62cd0205deea09558b16',
  '535387d717a85fd7be0ddf8af24a2e2e0c1785f21c26701a8954698ed4a779ae',
];

t.test('every migration is numbered in order and hashes to its frozen text', async t => {
  t.same(MIGRATIONS.map(m => m.version), MIGRATIONS.map((_, i) => i + 1));
  t.equal(MIGRATIONS.length, FROZEN.length, 'a new migration adds its hash to FROZEN');
  MIGRATIONS.forEach((m, i) => {
    t.equal(createHash('sha256').update(m.up).digest('hex'), FROZEN[i], `migration ${m.version} is unchanged`);
  });
});

t.test('migration SQL is literal: no interpolated constants left in the schema files', async t => {
  for (const m of MIGRATIONS) t.notMatch(m.up, /\$\{|undefined|\[object /, `migration ${m.version}`);
});
