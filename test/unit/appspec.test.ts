import t from 'tap';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APPSPEC_FILE_NAMES, loadAppSpec, parseAppSpec, parseOctalMode } from '../../common/appspec/parse.js';
import type { AppSpec } from '../../common/appspec/types.js';

/** An appspec body after the two required lines, so the body starts at line 3. */
const spec = (...body: string[]) => ['version: 0.0', 'os: linux', ...body, ''].join('\n');
const parse = (text: string) => parseAppSpec(text, 'appspec.yml');

interface ProblemCase {
  name: string;
  yaml: string;
  path: string;
  line: number | undefined;
  message: string;
}

const problemCases: ProblemCase[] = [
  { name: 'an empty file', yaml: '', path: '', line: undefined, message: "is empty: define at minimum 'version' and 'os'" },
  { name: 'a file of comments only', yaml: '# nothing\n', path: '', line: undefined, message: 'is empty' },
  { name: 'an empty document', yaml: '---\n...\n', path: '', line: 1, message: 'is empty' },
  { name: 'a document that is a list', yaml: '- version: 0.0\n', path: '', line: 1, message: 'must be a mapping of keys, not a list' },
  { name: 'a document that is a scalar', yaml: 'hello\n', path: '', line: 1, message: "define at minimum 'version' and 'os'" },
  { name: 'a YAML indentation error', yaml: spec('hooks:', '  ApplicationStart:', '    - location: a', '   timeout: 3'), path: '', line: 6, message: 'is not valid YAML' },
  { name: 'a duplicated key', yaml: spec('os: linux'), path: '', line: 3, message: 'Map keys must be unique' },
  { name: 'two YAML documents', yaml: spec('---', 'version: 0.0'), path: '', line: 3, message: 'more than one YAML document' },
  { name: 'a missing version', yaml: 'os: linux\nfiles: []\n', path: 'version', line: 1, message: "'version' is missing" },
  { name: 'a version with no value', yaml: 'os: linux\nversion:\n', path: 'version', line: 2, message: "'version' is missing" },
  { name: 'version 1.0', yaml: 'version: 1.0\nos: linux\n', path: 'version', line: 1, message: "'version' must be 0.0" },
  { name: 'version "1"', yaml: 'version: "1"\nos: linux\n', path: 'version', line: 1, message: 'the only appspec version (got "1")' },
  { name: 'version 0.1', yaml: 'os: linux\nversion: 0.1\n', path: 'version', line: 2, message: 'the only appspec version (got 0.1)' },
  { name: 'a missing os', yaml: 'version: 0.0\n', path: 'os', line: 1, message: "'os' is missing" },
  { name: 'os windows', yaml: 'version: 0.0\nos: windows\n', path: 'os', line: 2, message: 'os: windows is not supported by this agent' },
  { name: 'a windows appspec with C:\\ destinations (one problem, not one per path)', yaml: 'version: 0.0\nos: windows\nfiles:\n  - source: app\n    destination: C:\\inetpub\\wwwroot\nhooks:\n  AfterInstall:\n    - location: before.ps1\n      timeout: 0\n', path: 'os', line: 2, message: 'os: windows is not supported by this agent' },
  { name: 'a hook location that is only slashes', yaml: spec('hooks:', '  ApplicationStart:', '    - location: /'), path: 'hooks.ApplicationStart[0].location', line: 5, message: "'location' must name a script in the revision" },
  { name: "a hook location with a leading slash and a '..' segment", yaml: spec('hooks:', '  ApplicationStart:', '    - location: /../etc/x.sh'), path: 'hooks.ApplicationStart[0].location', line: 5, message: "'..' is not allowed (got /../etc/x.sh)" },
  { name: 'a script with no location under Install (CodeDeploy validates it too)', yaml: spec('hooks:', '  Install:', '    - timeout: 30'), path: 'hooks.Install[0].location', line: 5, message: "'location' is missing" },
  { name: 'os ubuntu', yaml: 'version: 0.0\nos: ubuntu\n', path: 'os', line: 2, message: "'os' must be linux" },
  { name: 'an unknown file_exists_behavior', yaml: spec('file_exists_behavior: REPLACE'), path: 'file_exists_behavior', line: 3, message: 'must be one of DISALLOW, OVERWRITE, RETAIN' },
  { name: 'files given as a mapping', yaml: spec('files:', '  source: /'), path: 'files', line: 4, message: "'files' must be a list" },
  { name: 'a files entry that is a string', yaml: spec('files:', '  - /srv'), path: 'files[0]', line: 4, message: 'each entry must be a mapping' },
  { name: 'a files entry with no source', yaml: spec('files:', '  - source: /', '    destination: /a', '  - destination: /srv'), path: 'files[1].source', line: 6, message: 'specifies a destination, but no source' },
  { name: 'a files entry with no destination', yaml: spec('files:', '  - source: app'), path: 'files[0].destination', line: 4, message: 'specifies only a source (app)' },
  { name: "a files source with a '..' segment", yaml: spec('files:', '  - source: app/../../etc', '    destination: /srv'), path: 'files[0].source', line: 4, message: "'..' is not allowed" },
  { name: 'an empty files source', yaml: spec('files:', '  - source: ""', '    destination: /srv'), path: 'files[0].source', line: 4, message: "'source' must be a non-empty string" },
  { name: 'hooks given as a list', yaml: spec('hooks:', '  - ApplicationStart'), path: 'hooks', line: 4, message: "'hooks' must be a mapping" },
  { name: 'a hook given as a mapping', yaml: spec('hooks:', '  ApplicationStart:', '    location: a.sh'), path: 'hooks.ApplicationStart', line: 5, message: 'must be a list of scripts' },
  { name: 'a hook entry that is a string', yaml: spec('hooks:', '  ApplicationStart:', '    - a.sh'), path: 'hooks.ApplicationStart[0]', line: 5, message: 'each entry must be a mapping' },
  { name: 'a hook entry with no location', yaml: spec('hooks:', '  ApplicationStart:', '    - timeout: 30'), path: 'hooks.ApplicationStart[0].location', line: 5, message: "'location' is missing" },
  { name: 'an empty hook location', yaml: spec('hooks:', '  ApplicationStart:', "    - location: ''"), path: 'hooks.ApplicationStart[0].location', line: 5, message: "'location' must be a non-empty string" },
  { name: "a hook location with a '..' segment", yaml: spec('hooks:', '  ApplicationStart:', '    - location: ../start.sh'), path: 'hooks.ApplicationStart[0].location', line: 5, message: "'..' is not allowed" },
  ...['0', '-5', '0.5', 'abc', '"s60"', 'true'].map(v => ({
    name: `a hook timeout of ${v}`,
    yaml: spec('hooks:', '  ApplicationStart:', '    - location: a.sh', `      timeout: ${v}`),
    path: 'hooks.ApplicationStart[0].timeout',
    line: 6,
    message: "'timeout' must be a positive whole number of seconds",
  })),
  { name: 'an empty runas', yaml: spec('hooks:', '  ApplicationStart:', '    - location: a.sh', '      runas: ""'), path: 'hooks.ApplicationStart[0].runas', line: 6, message: "'runas' must be a non-empty string" },
  { name: 'permissions given as a mapping', yaml: spec('permissions:', '  object: /srv'), path: 'permissions', line: 4, message: "'permissions' must be a list" },
  { name: 'a permission with no object', yaml: spec('permissions:', '  - owner: app'), path: 'permissions[0].object', line: 4, message: "'object' is missing" },
  { name: 'a permission with a relative object', yaml: spec('permissions:', '  - object: srv'), path: 'permissions[0].object', line: 4, message: "'object' must be an absolute path" },
  ...['8', '99999', 'rwx', '-1'].map(v => ({
    name: `a permission mode of ${v}`,
    yaml: spec('permissions:', '  - object: /srv', `    mode: ${v}`),
    path: 'permissions[0].mode',
    line: 5,
    message: "'mode' must be 1 to 4 octal digits",
  })),
  { name: 'a permission type of socket', yaml: spec('permissions:', '  - object: /srv', '    type: [file, socket]'), path: 'permissions[0].type', line: 5, message: "'type' takes file and/or directory" },
  { name: 'an empty permission type list', yaml: spec('permissions:', '  - object: /srv', '    type: []'), path: 'permissions[0].type', line: 5, message: 'must name file, directory or both' },
  { name: 'a non-string except', yaml: spec('permissions:', '  - object: /srv', '    except:', '      - 7'), path: 'permissions[0].except[0]', line: 6, message: 'must be a non-empty string' },
  { name: 'acls given as a string', yaml: spec('permissions:', '  - object: /srv', '    acls: u:app:rwx'), path: 'permissions[0].acls', line: 5, message: "'acls' must be a list" },
  ...[
    ['u::rwx', 'use mode for the owner/group/other permissions'],
    ['g::r-x', 'use mode for the owner/group/other permissions'],
    ['o::r--', 'use mode for the owner/group/other permissions'],
    ['o:bob:r', 'other entries take no name'],
    ['u:bob:rwxx', "invalid permissions 'rwxx'"],
    ['u:bob:8', "invalid permissions '8'"],
    ['q:bob:rw', "unknown type 'q'"],
    ['x:d:u:bob:rw', 'is not in setfacl form'],
  ].map(([acl, message]) => ({
    name: `the acl entry ${acl}`,
    yaml: spec('permissions:', '  - object: /srv', '    acls:', '      - u:app:rwx', `      - "${acl}"`),
    path: 'permissions[0].acls[1]',
    line: 7,
    message: message ?? '',
  })),
  { name: 'a context with no type', yaml: spec('permissions:', '  - object: /srv', '    context:', '      name: user_u'), path: 'permissions[0].context.type', line: 6, message: "'type' is missing" },
  { name: 'a context with a role', yaml: spec('permissions:', '  - object: /srv', '    context:', '      type: t', '      role: object_r'), path: 'permissions[0].context.role', line: 7, message: "'role' is not supported" },
  { name: 'a context given as a string', yaml: spec('permissions:', '  - object: /srv', '    context: httpd_t'), path: 'permissions[0].context', line: 5, message: "'context' must be a mapping" },
  { name: 'a context range with a category above c1023', yaml: spec('permissions:', '  - object: /srv', '    context:', '      type: t', '      range: s0:c1024'), path: 'permissions[0].context.range', line: 7, message: 'above c1023' },
  { name: 'an alias to no anchor', yaml: spec('hooks:', '  ApplicationStart: *nothing'), path: 'hooks.ApplicationStart', line: 4, message: 'alias *nothing refers to no anchor' },
];

for (const c of problemCases) {
  t.test(`${c.name} is reported with its key path and line`, async t => {
    const result = parse(c.yaml);
    t.equal(result.spec, undefined, 'no spec is returned');
    t.equal(result.problems.length, 1, JSON.stringify(result.problems));
    const [p] = result.problems;
    t.equal(p?.path, c.path);
    t.equal(p?.line, c.line);
    t.match(p?.message, c.message);
  });
}

const accepted: { name: string; yaml: string; check: (spec: AppSpec) => unknown; want: unknown }[] = [
  { name: 'unquoted version 0.0', yaml: 'version: 0.0\nos: linux\n', check: s => s.version, want: '0.0' },
  { name: 'version 0', yaml: 'version: 0\nos: linux\n', check: s => s.version, want: '0.0' },
  ...[['644', 0o644], ['4755', 0o4755], ['"0755"', 0o755], ['7', 0o7]].map(([raw, mode]) => ({
    name: `mode ${raw}`,
    yaml: spec('permissions:', '  - object: /srv', `    mode: ${raw}`),
    check: (s: AppSpec) => s.permissions[0]?.mode,
    want: mode,
  })),
  { name: 'a timeout given as a string of digits', yaml: spec('hooks:', '  AfterInstall:', '    - location: a.sh', '      timeout: "90"'), check: s => s.hooks.AfterInstall?.[0]?.timeoutSeconds, want: 90 },
  { name: 'a hook with no timeout', yaml: spec('hooks:', '  AfterInstall:', '    - location: ./a.sh'), check: s => s.hooks.AfterInstall, want: [{ location: 'a.sh', timeoutSeconds: 3600, line: 5 }] },
  { name: 'a hook with no scripts', yaml: spec('hooks:', '  ApplicationStop:', '  ValidateService: []'), check: s => s.hooks, want: {} },
  { name: 'files and permissions with no value', yaml: spec('files:', 'permissions:', 'hooks:'), check: s => [s.files, s.permissions, s.hooks], want: [[], [], {}] },
  { name: 'a single string for except and type', yaml: spec('permissions:', '  - object: /srv', "    except: '*.log'", '    type: directory'), check: s => [s.permissions[0]?.except, s.permissions[0]?.types], want: [['*.log'], ['directory']] },
  { name: 'named, mask and default acl entries', yaml: spec('permissions:', '  - object: /srv', '    acls: [u:app:rwx, g:www:r-x, "m::rwx", "d:u::rwx", user:bob:7, default:group:adm:r, bob:rw]'), check: s => s.permissions[0]?.acls?.length, want: 7 },
];

for (const c of accepted) {
  t.test(`${c.name} is accepted`, async t => {
    const result = parse(c.yaml);
    t.strictSame(result.problems, []);
    t.ok(result.spec);
    if (result.spec) t.strictSame(c.check(result.spec), c.want);
  });
}

/** Bundles CodeDeploy's agent accepts (or Ferry keeps accepting): parsed as the agent reads them, with at most one warning. */
const asCodeDeploy: {
  name: string;
  yaml: string;
  check: (spec: AppSpec) => unknown;
  want: unknown;
  warning?: { path: string; line: number; message: string };
}[] = [
  { name: 'a hook location with a leading slash (joined to the revision root)', yaml: spec('hooks:', '  ApplicationStart:', '    - location: /scripts/start.sh'), check: s => s.hooks.ApplicationStart?.[0]?.location, want: 'scripts/start.sh' },
  { name: 'an Install hook', yaml: spec('hooks:', '  Install:', '    - location: a.sh'), check: s => s.hooks, want: {}, warning: { path: 'hooks.Install', line: 4, message: "'Install' is done by the agent: these scripts are not run" } },
  { name: 'a DownloadBundle hook', yaml: spec('hooks:', '  DownloadBundle:', '    - location: a.sh'), check: s => s.hooks, want: {}, warning: { path: 'hooks.DownloadBundle', line: 4, message: 'these scripts are not run' } },
  { name: 'a custom event', yaml: spec('hooks:', '  ApplicationStart:', '    - location: a.sh', '  CustomEvent:', '    - location: scripts/custom.sh'), check: s => s.customHooks, want: { CustomEvent: [{ location: 'scripts/custom.sh', timeoutSeconds: 3600, line: 7 }] } },
  { name: 'a relative destination (relative to /)', yaml: spec('files:', '  - source: scripts/test.py', '    destination: scripts'), check: s => s.files[0]?.destination, want: '/scripts', warning: { path: 'files[0].destination', line: 5, message: "'destination' scripts is relative: installed under / as /scripts" } },
  { name: 'timeout: 300.5 (Ruby to_i)', yaml: spec('hooks:', '  AfterInstall:', '    - location: a.sh', '      timeout: 300.5'), check: s => s.hooks.AfterInstall?.[0]?.timeoutSeconds, want: 300, warning: { path: 'hooks.AfterInstall[0].timeout', line: 6, message: "'timeout' 300.5 is not a whole number of seconds: read as 300" } },
  { name: 'timeout: "60s" (Ruby to_i)', yaml: spec('hooks:', '  AfterInstall:', '    - location: a.sh', '      timeout: "60s"'), check: s => s.hooks.AfterInstall?.[0]?.timeoutSeconds, want: 60, warning: { path: 'hooks.AfterInstall[0].timeout', line: 6, message: 'read as 60, as CodeDeploy\'s agent does' } },
  { name: 'quoted version "0.0"', yaml: 'version: "0.0"\nos: linux\n', check: s => s.version, want: '0.0', warning: { path: 'version', line: 1, message: 'version is the string "0.0": CodeDeploy\'s agent rejects it' } },
  { name: 'unquoted mode 0744', yaml: spec('permissions:', '  - object: /srv', '    mode: 0744'), check: s => s.permissions[0]?.mode, want: 0o744, warning: { path: 'permissions[0].mode', line: 5, message: 'unquoted mode 0744 is the octal number 484 in YAML 1.1: Ferry applies 0744, but CodeDeploy\'s agent rejects it' } },
  { name: 'unquoted mode 0644', yaml: spec('permissions:', '  - object: /srv', '    mode: 0644'), check: s => s.permissions[0]?.mode, want: 0o644, warning: { path: 'permissions[0].mode', line: 5, message: 'CodeDeploy\'s agent silently installs mode 0420; quote it ("0644") or write 644' } },
  { name: 'a UTF-8 byte order mark', yaml: '\uFEFF' + spec(), check: s => s.os, want: 'linux', warning: { path: '', line: 1, message: 'starts with a UTF-8 byte order mark' } },
  { name: 'a YAML alias', yaml: spec('hooks:', '  ApplicationStart: &start', '    - location: s.sh', '  ValidateService: *start'), check: s => s.hooks.ValidateService?.[0]?.location, want: 's.sh', warning: { path: '', line: 6, message: 'uses the YAML alias *start: CodeDeploy\'s agent (Ruby 3.1+, Psych 4) rejects aliases' } },
];

for (const c of asCodeDeploy) {
  t.test(`${c.name} is read as CodeDeploy's agent reads it${c.warning ? ', with a warning' : ''}`, async t => {
    const result = parse(c.yaml);
    t.strictSame(result.problems, []);
    t.ok(result.spec);
    if (result.spec) t.strictSame(c.check(result.spec), c.want);
    if (!c.warning) {
      t.strictSame(result.warnings, []);
      return;
    }
    t.equal(result.warnings.length, 1, JSON.stringify(result.warnings));
    t.equal(result.warnings[0]?.path, c.warning.path);
    t.equal(result.warnings[0]?.line, c.warning.line);
    t.match(result.warnings[0]?.message, c.warning.message);
  });
}

t.test('a full appspec is parsed to the expected model', async t => {
  const yaml = spec(
    'file_exists_behavior: OVERWRITE', //  3
    'files:',
    '  - source: /',
    '    destination: /srv/app',
    '  - source: ./config/app.conf', //    7
    '    destination: /etc/app',
    'permissions:',
    '  - object: /srv/app', //            10
    '    pattern: "*.sh"',
    '    except: [skip.sh]',
    '    owner: app',
    '    group: app',
    "    mode: '0755'",
    '    acls: ["u:deploy:rwx"]',
    '    context:',
    '      name: system_u',
    '      type: httpd_sys_content_t',
    '      range: s0-s1:c0.c10,c12',
    '    type: [file]',
    'hooks:',
    '  ApplicationStop:',
    '    - location: scripts/stop.sh', //   24
    '  ApplicationStart:',
    '    - location: scripts/start.sh', //  26
    '      timeout: 300',
    '      runas: app',
    '    - location: scripts/warm.sh', //   29
  );
  const want: AppSpec = {
    fileName: 'appspec.yml',
    version: '0.0',
    os: 'linux',
    fileExistsBehavior: 'OVERWRITE',
    files: [
      { source: '/', destination: '/srv/app', line: 5 },
      { source: 'config/app.conf', destination: '/etc/app', line: 7 },
    ],
    permissions: [
      {
        object: '/srv/app',
        pattern: '*.sh',
        except: ['skip.sh'],
        types: ['file'],
        owner: 'app',
        group: 'app',
        mode: 0o755,
        acls: ['u:deploy:rwx'],
        context: { type: 'httpd_sys_content_t', name: 'system_u', range: 's0-s1:c0.c10,c12' },
        line: 10,
      },
    ],
    hooks: {
      ApplicationStop: [{ location: 'scripts/stop.sh', timeoutSeconds: 3600, line: 24 }],
      ApplicationStart: [
        { location: 'scripts/start.sh', timeoutSeconds: 300, runas: 'app', line: 26 },
        { location: 'scripts/warm.sh', timeoutSeconds: 3600, line: 29 },
      ],
    },
  };
  const result = parse(yaml);
  t.strictSame(result.problems, []);
  t.strictSame(result.warnings, []);
  t.strictSame(result.spec, want);
});

t.test('every problem in a file is reported at once, in line order', async t => {
  const yaml = [
    'version: 1.0', //                 1
    'os: ubuntu', //                   2
    'files:',
    '  - destination: /srv', //        4
    'hooks:',
    '  Install:', //                   6
    '    - timeout: 5',
    '  ApplicationStart:',
    '    - location: start.sh',
    '      timeout: 0', //             10
    'permissions:',
    '  - object: /srv',
    '    mode: 999', //                13
    '',
  ].join('\n');
  const result = parse(yaml);
  t.equal(result.spec, undefined);
  t.strictSame(
    result.problems.map(p => [p.path, p.line]),
    [
      ['version', 1],
      ['os', 2],
      ['files[0].source', 4],
      ['hooks.Install[0].location', 7],
      ['hooks.ApplicationStart[0].timeout', 10],
      ['permissions[0].mode', 13],
    ],
  );
});

t.test('unknown keys are warnings, not problems', async t => {
  const yaml = spec(
    'resources: big', //                  3
    'files:',
    '  - source: /',
    '    destination: /srv',
    '    mode: 644', //                   7
    'hooks:',
    '  ApplicationStart:',
    '    - location: start.sh',
    '      sudo: true', //                11
    '      retries: 2', //                12
  );
  const result = parse(yaml);
  t.strictSame(result.problems, []);
  t.ok(result.spec, 'the spec is still returned');
  t.strictSame(result.warnings.map(w => [w.path, w.line]), [
    ['resources', 3],
    ['files[0].mode', 7],
    ['hooks.ApplicationStart[0].sudo', 11],
    ['hooks.ApplicationStart[0].retries', 12],
  ]);
  t.match(result.warnings[0]?.message, "unknown top-level key 'resources' is ignored, as CodeDeploy does");
  t.match(result.warnings[2]?.message, "'sudo' is not supported and is ignored");
  t.match(result.warnings[3]?.message, "unknown key 'retries' is ignored");
});

t.test('parseOctalMode reads one to four octal digits and nothing else', async t => {
  const cases: [string, number | undefined][] = [
    ['644', 0o644], ['0644', 0o644], ['4755', 0o4755], ['7', 0o7], ['0', 0],
    ['8', undefined], ['99999', undefined], ['rwx', undefined], ['-1', undefined], ['', undefined], ['0o644', undefined],
  ];
  for (const [raw, want] of cases) t.equal(parseOctalMode(raw), want, raw);
});

const minimal = 'version: 0.0\nos: linux\n';

type Teardown = Pick<typeof t, 'teardown'>;

async function revisionDir(test: Teardown, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-appspec-'));
  test.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

t.test('loadAppSpec reads appspec.yml from the revision root', async t => {
  const dir = await revisionDir(t, { 'appspec.yml': minimal, 'appspec.yaml': 'os: windows\n' });
  const result = await loadAppSpec(dir);
  t.strictSame(result.problems, []);
  t.equal(result.path, join(dir, 'appspec.yml'));
  t.equal(result.spec?.fileName, 'appspec.yml');
});

t.test('loadAppSpec falls back to appspec.yaml', async t => {
  const dir = await revisionDir(t, { 'appspec.yaml': minimal });
  const result = await loadAppSpec(dir);
  t.strictSame(result.problems, []);
  t.equal(result.path, join(dir, 'appspec.yaml'));
  t.equal(result.spec?.fileName, 'appspec.yaml');
});

t.test('loadAppSpec honours an explicit file name', async t => {
  const dir = await revisionDir(t, { 'appspec.yml': 'os: windows\n', 'deploy-spec.yml': minimal });
  const result = await loadAppSpec(dir, 'deploy-spec.yml');
  t.strictSame(result.problems, []);
  t.equal(result.spec?.fileName, 'deploy-spec.yml');
});

t.test('loadAppSpec reports the problems of the file it found', async t => {
  const dir = await revisionDir(t, { 'appspec.yml': 'version: 0.0\n' });
  const result = await loadAppSpec(dir);
  t.equal(result.path, join(dir, 'appspec.yml'));
  t.strictSame(result.problems.map(p => p.path), ['os']);
});

t.test('loadAppSpec reports a missing file, naming the names and the directory', async t => {
  const dir = await revisionDir(t, { 'README.md': 'hi\n' });
  await mkdir(join(dir, 'scripts'));
  const result = await loadAppSpec(dir, 'custom.yml');
  t.equal(result.spec, undefined);
  t.equal(result.path, undefined);
  t.equal(result.problems.length, 1);
  t.equal(result.problems[0]?.path, '');
  for (const name of ['custom.yml', ...APPSPEC_FILE_NAMES, dir]) t.match(result.problems[0]?.message, name);
});
