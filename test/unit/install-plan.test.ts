import t from 'tap';
import path from 'node:path';
import type { AppSpec, FileExistsBehavior, FileMapping, PermissionSpec } from '../../common/appspec/types.js';
import { isFerryError } from '../../common/errors.js';
import { matchesSimpleGlob } from '../../common/install/glob.js';
import type { Instruction } from '../../common/install/instructions.js';
import { type FsView, type PathKind, type PlanInput, planInstall } from '../../common/install/plan.js';

/** The error `fn` throws; fails the test when it throws nothing. */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, got none');
}

const REV = '/rev';
type Kind = 'file' | 'dir' | 'symlink';

/**
 * An in-memory FsView from `{path: kind}` (test data builder, docs/design/style.md §14). Ancestors of every
 * path are directories. Modes: files 0644, directories 0755, unless `modes` says otherwise.
 */
function fakeFs(entries: Record<string, Kind>, modes: Record<string, number> = {}): FsView {
  const kinds = new Map<string, PathKind>([['/', 'dir']]);
  for (const [p, kind] of Object.entries(entries)) {
    for (let d = path.dirname(p); d !== '/'; d = path.dirname(d)) kinds.set(d, 'dir');
    kinds.set(p, kind);
  }
  return {
    kind: p => kinds.get(p),
    isDirectory: p => kinds.get(p) === 'dir',
    readdir: p => [...kinds.keys()].filter(k => k !== '/' && path.dirname(k) === p).map(k => path.basename(k)),
    mode: p => modes[p] ?? (kinds.get(p) === 'dir' ? 0o40755 : 0o100644),
  };
}

const file = (source: string, destination: string, line = 3): FileMapping => ({ source, destination, line });
const perm = (over: Partial<PermissionSpec> = {}): PermissionSpec => ({
  object: '/srv/app', pattern: '**', except: [], types: ['file'], line: 10, ...over,
});
const appspec = (files: FileMapping[], permissions: PermissionSpec[] = []): AppSpec => ({
  fileName: 'appspec.yml', version: '0.0', os: 'linux', files, permissions, hooks: {},
});

interface Setup {
  files: FileMapping[];
  permissions?: PermissionSpec[];
  disk: Record<string, Kind>;
  modes?: Record<string, number>;
  behavior?: FileExistsBehavior;
  previouslyInstalled?: string[];
}
const plan = (s: Setup) => {
  const input: PlanInput = {
    spec: appspec(s.files, s.permissions),
    revisionDir: REV,
    behavior: s.behavior ?? 'DISALLOW',
    fs: fakeFs(s.disk, s.modes),
    previouslyInstalled: new Set(s.previouslyInstalled ?? []),
  };
  return planInstall(input);
};
const copy = (source: string, destination: string, overwrite = false, kind: 'file' | 'symlink' = 'file'): Instruction =>
  ({ type: 'copy', source, destination, kind, overwrite });
const mkdir = (directory: string, mode = 0o755): Instruction => ({ type: 'mkdir', directory, mode });

/** A revision with an `app/` tree, a top-level file and the appspec; the host has /srv. */
const REVISION: Record<string, Kind> = {
  '/rev/appspec.yml': 'file',
  '/rev/app/a.sh': 'file',
  '/rev/app/b.txt': 'file',
  '/rev/app/link': 'symlink',
  '/rev/app/sub/c.sh': 'file',
  '/rev/run.sh': 'file',
  '/srv': 'dir',
};

t.test('copies and directories follow the files section', async t => {
  const cases: { name: string; setup: Setup; instructions: Instruction[]; retained?: string[] }[] = [
    {
      name: 'a directory source copies its contents, creating only the missing ancestors of the destination',
      setup: { files: [file('app', '/srv/www/app')], disk: REVISION, modes: { '/rev/app/sub': 0o40750 } },
      instructions: [
        mkdir('/srv/www'),
        mkdir('/srv/www/app'),
        copy('/rev/app/a.sh', '/srv/www/app/a.sh'),
        copy('/rev/app/b.txt', '/srv/www/app/b.txt'),
        copy('/rev/app/link', '/srv/www/app/link', false, 'symlink'),
        mkdir('/srv/www/app/sub', 0o750),
        copy('/rev/app/sub/c.sh', '/srv/www/app/sub/c.sh'),
      ],
    },
    {
      name: 'an existing destination directory gets no mkdir',
      setup: { files: [file('app/sub', '/srv')], disk: REVISION },
      instructions: [copy('/rev/app/sub/c.sh', '/srv/c.sh')],
    },
    {
      name: 'a file source lands at destination/basename',
      setup: { files: [file('run.sh', '/srv/bin')], disk: REVISION },
      instructions: [mkdir('/srv/bin'), copy('/rev/run.sh', '/srv/bin/run.sh')],
    },
    {
      name: "source '/' copies the whole revision",
      setup: { files: [file('/', '/srv')], disk: REVISION },
      instructions: [
        mkdir('/srv/app'),
        copy('/rev/app/a.sh', '/srv/app/a.sh'),
        copy('/rev/app/b.txt', '/srv/app/b.txt'),
        copy('/rev/app/link', '/srv/app/link', false, 'symlink'),
        mkdir('/srv/app/sub'),
        copy('/rev/app/sub/c.sh', '/srv/app/sub/c.sh'),
        copy('/rev/appspec.yml', '/srv/appspec.yml'),
        copy('/rev/run.sh', '/srv/run.sh'),
      ],
    },
    {
      name: 'OVERWRITE copies over an existing file',
      setup: { files: [file('run.sh', '/srv')], disk: { ...REVISION, '/srv/run.sh': 'file' }, behavior: 'OVERWRITE' },
      instructions: [copy('/rev/run.sh', '/srv/run.sh', true)],
    },
    {
      name: 'OVERWRITE replaces an existing symlink',
      setup: { files: [file('run.sh', '/srv')], disk: { ...REVISION, '/srv/run.sh': 'symlink' }, behavior: 'OVERWRITE' },
      instructions: [copy('/rev/run.sh', '/srv/run.sh', true)],
    },
    {
      name: 'RETAIN leaves an existing file and lists it as retained',
      setup: { files: [file('app/sub', '/srv'), file('run.sh', '/srv')], disk: { ...REVISION, '/srv/run.sh': 'file' }, behavior: 'RETAIN' },
      instructions: [copy('/rev/app/sub/c.sh', '/srv/c.sh')],
      retained: ['/srv/run.sh'],
    },
    {
      name: 'a file the previous install created is treated as absent, even with DISALLOW',
      setup: {
        files: [file('run.sh', '/srv')],
        disk: { ...REVISION, '/srv/run.sh': 'file' },
        previouslyInstalled: ['/srv/run.sh'],
      },
      instructions: [copy('/rev/run.sh', '/srv/run.sh')],
    },
    {
      name: 'a directory the previous install created is created again',
      setup: { files: [file('run.sh', '/srv/bin')], disk: { ...REVISION, '/srv/bin': 'dir' }, previouslyInstalled: ['/srv/bin'] },
      instructions: [mkdir('/srv/bin'), copy('/rev/run.sh', '/srv/bin/run.sh')],
    },
  ];
  for (const c of cases) {
    const p = plan(c.setup);
    t.strictSame(p.instructions, c.instructions, c.name);
    t.strictSame(p.retained, c.retained ?? [], `${c.name}: retained`);
  }
});

t.test('conflicts fail naming the appspec line and the path', async t => {
  const cases: { name: string; setup: Setup; message: RegExp }[] = [
    {
      name: 'DISALLOW with an existing file',
      setup: { files: [file('run.sh', '/srv', 7)], disk: { ...REVISION, '/srv/run.sh': 'file' } },
      message: /^appspec\.yml:7: .*a specified file already exists at this location: \/srv\/run\.sh/,
    },
    {
      name: 'two sources to one destination',
      setup: { files: [file('app/sub', '/srv', 3), file('app/sub/c.sh', '/srv', 5)], disk: REVISION },
      message: /^appspec\.yml:5: two sources are copied to the same destination \/srv\/c\.sh$/,
    },
    {
      name: 'a file on disk where a directory must be created',
      setup: { files: [file('run.sh', '/srv/bin', 4)], disk: { ...REVISION, '/srv/bin': 'file' }, behavior: 'OVERWRITE' },
      message: /^appspec\.yml:4: cannot create directory \/srv\/bin: a file exists there$/,
    },
    {
      name: 'a planned file where a directory must be created',
      setup: { files: [file('run.sh', '/srv', 3), file('app/a.sh', '/srv/run.sh', 6)], disk: REVISION },
      message: /^appspec\.yml:6: \/srv\/run\.sh is both a file to copy and a directory to create$/,
    },
    {
      name: 'a directory on disk where a file must go',
      setup: { files: [file('run.sh', '/srv', 4)], disk: { ...REVISION, '/srv/run.sh': 'dir' }, behavior: 'OVERWRITE' },
      message: /^appspec\.yml:4: a directory exists where the revision has a file: \/srv\/run\.sh$/,
    },
    {
      name: 'a planned directory where a file must go',
      setup: { files: [file('/', '/srv', 3), file('x/app', '/srv', 8)], disk: { ...REVISION, '/rev/x/app': 'file' } },
      message: /^appspec\.yml:8: \/srv\/app is both a directory to create and a file to copy$/,
    },
    {
      name: 'a source missing from the revision',
      setup: { files: [file('nope', '/srv', 9)], disk: REVISION },
      message: /^appspec\.yml:9: files\[0\]\.source 'nope' does not exist in the revision$/,
    },
  ];
  for (const c of cases) {
    const err = errorOf(() => plan(c.setup));
    t.ok(isFerryError(err, 'INSTALL_FAILED'), `${c.name}: INSTALL_FAILED`);
    t.match(err.message, c.message, c.name);
  }
});

/** The copy of REVISION's app/ to /srv/app, then what permissions add. */
const installApp = (permissions: PermissionSpec[]) => {
  const p = plan({ files: [file('app', '/srv/app')], permissions, disk: REVISION });
  return p.instructions.filter(i => i.type !== 'copy' && i.type !== 'mkdir');
};

t.test('permissions select what the install creates', async t => {
  const cases: { name: string; permissions: PermissionSpec[]; expect: Instruction[] }[] = [
    {
      name: "'**' matches every descendant file but not the object",
      permissions: [perm({ mode: 0o640 })],
      expect: ['a.sh', 'b.txt', 'sub/c.sh'].map(f => ({ type: 'chmod', mode: '640', file: `/srv/app/${f}` })),
    },
    {
      name: "'**' with type directory matches descendant directories only",
      permissions: [perm({ mode: 0o750, types: ['directory'] })],
      expect: [{ type: 'chmod', mode: '750', file: '/srv/app/sub' }],
    },
    {
      name: "a '*.sh' pattern matches immediate children only",
      permissions: [perm({ pattern: '*.sh', mode: 0o755 })],
      expect: [{ type: 'chmod', mode: '755', file: '/srv/app/a.sh' }],
    },
    {
      name: 'except removes matches',
      permissions: [perm({ except: ['b.txt'], mode: 0o600 })],
      expect: [
        { type: 'chmod', mode: '600', file: '/srv/app/a.sh' },
        { type: 'chmod', mode: '600', file: '/srv/app/sub/c.sh' },
      ],
    },
    {
      name: 'a mode is rendered as at least three octal digits',
      permissions: [perm({ object: '/srv/app/a.sh', mode: 0o7 }), perm({ object: '/srv/app/b.txt', mode: 0o4755, line: 12 })],
      expect: [
        { type: 'chmod', mode: '007', file: '/srv/app/a.sh' },
        { type: 'chmod', mode: '4755', file: '/srv/app/b.txt' },
      ],
    },
    {
      name: 'owner and group become a chown',
      permissions: [perm({ object: '/srv/app/a.sh', owner: 'app', group: 'web' })],
      expect: [{ type: 'chown', owner: 'app', group: 'web', file: '/srv/app/a.sh' }],
    },
    {
      name: 'a group alone becomes a chown without an owner',
      permissions: [perm({ object: '/srv/app/a.sh', group: 'web' })],
      expect: [{ type: 'chown', group: 'web', file: '/srv/app/a.sh' }],
    },
    {
      name: 'acls become a setfacl, default entries allowed on directories',
      permissions: [perm({ acls: ['d:u:app:rwx', 'u:app:rwx'], types: ['directory'] })],
      expect: [{ type: 'setfacl', acl: ['d:u:app:rwx', 'u:app:rwx'], file: '/srv/app/sub' }],
    },
    {
      name: 'a symlink gets a chown but no chmod or setfacl',
      permissions: [perm({ object: '/srv/app/link', mode: 0o644, acls: ['u:app:r'], owner: 'app' })],
      expect: [{ type: 'chown', owner: 'app', file: '/srv/app/link' }],
    },
    {
      name: 'chmods, then setfacls, then chowns, after every copy and mkdir',
      permissions: [
        perm({ object: '/srv/app/a.sh', mode: 0o700, acls: ['u:app:rx'], owner: 'app' }),
        perm({ object: '/srv/app/b.txt', mode: 0o600, acls: ['u:app:r'], owner: 'app', line: 14 }),
      ],
      expect: [
        { type: 'chmod', mode: '700', file: '/srv/app/a.sh' },
        { type: 'chmod', mode: '600', file: '/srv/app/b.txt' },
        { type: 'setfacl', acl: ['u:app:rx'], file: '/srv/app/a.sh' },
        { type: 'setfacl', acl: ['u:app:r'], file: '/srv/app/b.txt' },
        { type: 'chown', owner: 'app', file: '/srv/app/a.sh' },
        { type: 'chown', owner: 'app', file: '/srv/app/b.txt' },
      ],
    },
  ];
  for (const c of cases) t.strictSame(installApp(c.permissions), c.expect, c.name);

  const all = plan({ files: [file('app', '/srv/app')], permissions: [perm({ mode: 0o600, owner: 'app' })], disk: REVISION });
  const firstPermission = all.instructions.findIndex(i => i.type !== 'copy' && i.type !== 'mkdir');
  t.ok(
    all.instructions.slice(firstPermission).every(i => i.type !== 'copy' && i.type !== 'mkdir'),
    'no copy or mkdir follows a permission instruction',
  );
});

t.test('invalid permissions fail naming the appspec line', async t => {
  const cases: { name: string; permissions: PermissionSpec[]; message: RegExp }[] = [
    {
      name: 'a default ACL on a file',
      permissions: [perm({ object: '/srv/app/a.sh', acls: ['default:u:app:rwx'], line: 11 })],
      message: /^appspec\.yml:11: permissions\[0\]: default ACL entries apply to directories only, not \/srv\/app\/a\.sh$/,
    },
    {
      name: 'a pattern on a file object',
      permissions: [perm({ object: '/srv/app/a.sh', pattern: '*.sh', mode: 0o755, line: 12 })],
      message: /^appspec\.yml:12: permissions\[0\]: object \/srv\/app\/a\.sh is a file; pattern and except apply to directories only$/,
    },
    {
      name: 'except on a file object',
      permissions: [perm({ object: '/srv/app/a.sh', except: ['x'], mode: 0o755, line: 13 })],
      message: /^appspec\.yml:13: permissions\[0\]: object \/srv\/app\/a\.sh is a file/,
    },
    {
      name: 'an SELinux context (not supported: never skipped silently)',
      permissions: [perm({ mode: 0o644, context: { type: 'httpd_sys_content_t' }, line: 16 })],
      message: /^appspec\.yml:16: permissions\[0\]\.context: SELinux contexts are not supported by this agent yet/,
    },
    {
      name: 'the same target given twice',
      permissions: [perm({ mode: 0o644, line: 10 }), perm({ object: '/srv/app/a.sh', mode: 0o755, line: 15 })],
      message: /^appspec\.yml:15: permissions\[1\] sets permissions on \/srv\/app\/a\.sh again \(already set at line 10\)$/,
    },
  ];
  for (const c of cases) {
    const err = errorOf(() => installApp(c.permissions));
    t.ok(isFerryError(err, 'INSTALL_FAILED'), `${c.name}: INSTALL_FAILED`);
    t.match(err.message, c.message, c.name);
  }
});

t.test('matchesSimpleGlob matches CodeDeploy permission patterns', async t => {
  const cases: [pattern: string, relative: string, expect: boolean][] = [
    ['**', 'a.sh', true],
    ['**', 'sub/deep/c.sh', true],
    ['*', 'a.sh', true],
    ['*', 'sub/c.sh', false],
    ['*.sh', 'a.sh', true],
    ['*.sh', 'a.shx', false],
    ['*.sh', 'sub/c.sh', false],
    ['a*b*c', 'aXXbYc', true],
    ['a*b*c', 'acb', false],
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false],
    ['file?.txt', 'file?.txt', true],
    ['file?.txt', 'file1.txt', false],
    ['[ab]', 'a', false],
    ['[ab]', '[ab]', true],
    ['(x|y)', 'x', false],
    ['b.txt', 'b.txt', true],
    ['b.txt', 'sub/b.txt', false],
    ['', '', true],
    ['', 'a', false],
  ];
  for (const [pattern, relative, expect] of cases) {
    t.equal(matchesSimpleGlob(pattern, relative), expect, `'${pattern}' ${expect ? 'matches' : 'does not match'} '${relative}'`);
  }
});
