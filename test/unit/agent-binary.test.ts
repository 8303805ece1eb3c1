import * as protoLoader from '@grpc/proto-loader';
import type { Metafile } from 'esbuild';
import t from 'tap';
import { parse } from 'yaml';
import { bundleAgent, bundleProblems, latin1Source, protoJson } from '../../ops/agent-binary/bundle.js';
import { compareText } from '../../common/text.js';
import { REPO } from '../helpers/agent-cli.js';
import { debScript, packageConfig, packageUnit, rpmScript } from '../../ops/agent-binary/package.js';
import { PROTO_FILES, PROTO_OPTIONS, protoDir } from '../../proto/load.js';

const meta = (inputs: string[], runtime: string[]): Metafile => ({
  inputs: Object.fromEntries(inputs.map(i => [i, { bytes: 1, imports: [] }])),
  outputs: { 'ferry-agent.js': { bytes: 1, inputs: {}, imports: runtime.map(path => ({ path, kind: 'require-call' as const, external: true })), exports: [], entryPoint: 'ops/ferry-agent.ts' } },
});

t.test('the bundle check names each module that may not reach a host', async t => {
  t.same(bundleProblems(meta(['agent/main.ts', 'node_modules/yaml/dist/index.js'], ['node:fs', 'fs', 'osx-temperature-sensor'])), [],
    'agent code, bundled packages, built-ins and the macOS-only requires pass');
  t.same(bundleProblems(meta(['coordinator/store/sqlite-store.ts', 'cli/main.ts', 'node_modules/better-sqlite3/lib/index.js', 'node_modules/x/build/addon.node'], ['leftpad', 'node:fs'])), [
    'coordinator/store/sqlite-store.ts: coordinator/CLI code in the agent binary',
    'cli/main.ts: coordinator/CLI code in the agent binary',
    'node_modules/better-sqlite3/lib/index.js: SQLite or a native-addon loader in the agent binary',
    'node_modules/x/build/addon.node: a native module in the agent binary',
    'ferry-agent.js: requires leftpad at run time, which is not bundled and not a Node built-in',
  ]);
});

t.test('the bundle is Latin-1, so V8 keeps the binary\'s main script at one byte a character; the escapes mean the same characters', async t => {
  t.equal(latin1Source('a – b ° c 😀'), 'a \\u2013 b ° c \\ud83d\\ude00', 'above U+00FF escaped, Latin-1 kept');
  const same = new Function(`return [${latin1Source("'– 😀', /[–]/.test('x–y'), `${'😀'}`")}]`) as () => unknown[];
  t.same(same(), ['– 😀', true, '😀']);
  const { code } = await bundleAgent(REPO, '0.0.0-test');
  t.same(code.match(/[^\u0000-\u00ff]/g), null, 'the real bundle: no character above U+00FF (one made V8 store 2.7 MB of source as 5.4 MiB)');
  t.match(code, /\/\/ agent\/v8-flags\.ts\n[^]{0,300}?setFlagsFromString\)\(flag\)/, 'and it sets the agent\'s V8 flags (agent/v8-flags.ts)');
});

t.test('compareText orders by code unit, whatever the locale', async t => {
  t.same(['b', 'B', 'a', 'é', 'e', 'Z'].sort(compareText), ['B', 'Z', 'a', 'b', 'e', 'é']);
  t.equal(compareText('x', 'x'), 0);
});

t.test('the .proto files embedded as JSON load as the same services and messages as from disk', async t => {
  const fromDisk = protoLoader.loadSync(PROTO_FILES, { ...PROTO_OPTIONS, includeDirs: [protoDir()] });
  const embedded = protoLoader.fromJSON(JSON.parse(JSON.stringify(protoJson())), PROTO_OPTIONS);
  t.same(Object.keys(embedded).sort(), Object.keys(fromDisk).sort());
  const methods = (def: protoLoader.PackageDefinition) => Object.values(def).flatMap(d => Object.values(d).map(m => (m as { path?: string }).path).filter(Boolean)).sort();
  t.ok(methods(fromDisk).length > 10);
  t.same(methods(embedded), methods(fromDisk), 'every RPC path');
});

t.test('the package runs the binary under systemd and ships a config with only the deployment root', async t => {
  t.match(packageUnit(), /^ExecStart=\/usr\/bin\/ferry-agent start --config \/etc\/ferry\/agent\.yaml$/m);
  t.match(packageUnit(), /^User=root$/m, 'hooks switch to their runas users, which needs root');
  t.same(parse(packageConfig()), { 'root-dir': '/opt/ferry-agent/deployment-root' });
  for (const script of [debScript('postinst'), rpmScript('postinst')]) {
    t.match(script, /if ! ferry_enrolled; then/, 'start only an enrolled host');
    t.match(script, /useradd --system --gid ferry/, 'the ferry system user');
  }
  t.match(debScript('prerm'), /if \[ "\$1" = remove \]; then ferry_stop; fi/, 'stop on remove, not on upgrade');
  t.match(rpmScript('prerm'), /if \[ "\$1" -eq 0 \]; then ferry_stop; fi/, 'stop on erase, not on upgrade');
});
