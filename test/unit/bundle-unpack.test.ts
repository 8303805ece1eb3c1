import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  lutimesSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { isFerryError } from '../../common/errors.js';
import type { ErrorCode } from '../../common/errors.js';
import type { BundleEntry } from '../../common/bundle/entries.js';
import { findEntryProblems, findWrapperDir, resolveLink } from '../../common/bundle/entries.js';
import { inferBundleType, unpackBundle } from '../../common/bundle/unpack.js';
import type { BundleType } from '../../common/bundle/unpack.js';


/** A fixed, even-second mtime (zip's DOS dates have 2 s resolution). */
const MTIME = new Date('2021-06-01T12:00:00Z');
const MTIME_S = MTIME.getTime() / 1000;
const MB = 1024 * 1024;

/** A temp work dir with `in/` (archives) and `out/` (destination parent, created by unpack). */
function workDir(t: Test): { in: string; out: string; dest: string } {
  const root = mkdtempSync(join(tmpdir(), 'ferry-unpack-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'in'));
  return { in: join(root, 'in'), out: join(root, 'out'), dest: join(root, 'out', 'dest') };
}

/** appspec.yml 0644, scripts/start.sh 0755, data/notes.txt, link -> scripts/start.sh; all at MTIME. */
function makeTree(dir: string): void {
  mkdirSync(join(dir, 'scripts'), { recursive: true });
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'appspec.yml'), 'version: 0.0\nos: linux\n');
  writeFileSync(join(dir, 'scripts', 'start.sh'), '#!/bin/sh\necho start\n');
  writeFileSync(join(dir, 'data', 'notes.txt'), 'hello');
  chmodSync(join(dir, 'appspec.yml'), 0o644);
  chmodSync(join(dir, 'scripts', 'start.sh'), 0o755);
  chmodSync(join(dir, 'data', 'notes.txt'), 0o640);
  chmodSync(join(dir, 'data'), 0o750);
  chmodSync(dir, 0o755);
  symlinkSync('scripts/start.sh', join(dir, 'link'));
  for (const p of ['appspec.yml', 'scripts/start.sh', 'data/notes.txt', 'scripts', 'data', '.']) {
    utimesSync(join(dir, p), MTIME, MTIME);
  }
  lutimesSync(join(dir, 'link'), MTIME, MTIME);
}

const TREE_BYTES = 'version: 0.0\nos: linux\n'.length + '#!/bin/sh\necho start\n'.length + 'hello'.length;

function python(script: string, ...args: string[]): void {
  execFileSync('python3', ['-c', script, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Zips directory argv[2] into argv[1] under prefix argv[3], keeping modes and symlinks (lstat). */
const ZIP_TREE = `
import os, sys, time, zipfile
out, src, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as zf:
    for base, dirs, files in os.walk(src):
        dirs.sort()
        for name in [None] + sorted(dirs + files):
            full = base if name is None else os.path.join(base, name)
            if name is not None and os.path.isdir(full) and not os.path.islink(full):
                continue
            rel = os.path.relpath(full, src)
            st = os.lstat(full)
            isdir = os.path.isdir(full) and not os.path.islink(full)
            if rel == '.' and prefix == '':
                continue
            arc = prefix + ('' if rel == '.' else rel + ('/' if isdir else ''))
            zi = zipfile.ZipInfo(arc, time.localtime(st.st_mtime)[:6])
            zi.create_system = 3
            zi.external_attr = (st.st_mode << 16) | (0x10 if isdir else 0)
            zi.compress_type = zipfile.ZIP_DEFLATED
            data = os.readlink(full).encode() if os.path.islink(full) else b'' if isdir else open(full, 'rb').read()
            zf.writestr(zi, data)
`;

/** A python tarfile script with an \`add\` helper; \`body\` writes any header it likes. */
function hostileTar(file: string, body: string): string {
  python(
    `
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w') as tf:
    def add(name, type=tarfile.REGTYPE, data=b'', linkname='', mode=0o644, uid=0, gid=0, dev=(0, 0)):
        ti = tarfile.TarInfo(name)
        ti.type, ti.linkname, ti.mode, ti.mtime, ti.uid, ti.gid = type, linkname, mode, ${MTIME_S}, uid, gid
        ti.devmajor, ti.devminor = dev
        ti.size = len(data) if type == tarfile.REGTYPE else 0
        tf.addfile(ti, io.BytesIO(data) if ti.size else None)
${body.replace(/^/gm, '    ')}
`,
    file,
  );
  return file;
}

/** A python zipfile script with an \`add\` helper taking a full st_mode. */
function hostileZip(file: string, body: string): string {
  python(
    `
import sys, time, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as zf:
    def add(name, data=b'', mode=0o100644):
        zi = zipfile.ZipInfo(name, time.localtime(${MTIME_S})[:6])
        zi.create_system, zi.external_attr, zi.compress_type = 3, mode << 16, zipfile.ZIP_DEFLATED
        zf.writestr(zi, data)
${body.replace(/^/gm, '    ')}
`,
    file,
  );
  return file;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (err: unknown) => err,
  );
}

/** The call fails with `code`, its message holds every needle, and nothing was left behind. */
async function assertRejected(
  t: Test,
  dirs: { out: string; dest: string },
  promise: Promise<unknown>,
  code: ErrorCode,
  ...needles: string[]
): Promise<void> {
  const err = await rejection(promise);
  t.ok(isFerryError(err, code), `fails with ${code}`, { found: err });
  const message = err instanceof Error ? err.message : '';
  for (const needle of needles) t.ok(message.includes(needle), `message names ${needle}`, { message });
  t.notOk(existsSync(dirs.dest), 'destDir does not exist');
  const left = existsSync(dirs.out) ? readdirSync(dirs.out) : [];
  t.same(left, [], 'nothing written beside destDir (no temp dir, no ../ entry)');
}

function assertTree(t: Test, dest: string): void {
  t.equal(readFileSync(join(dest, 'appspec.yml'), 'utf8'), 'version: 0.0\nos: linux\n');
  t.equal(statSync(join(dest, 'scripts', 'start.sh')).mode & 0o7777, 0o755, 'the script stays executable');
  t.equal(statSync(join(dest, 'appspec.yml')).mode & 0o7777, 0o644);
  t.equal(statSync(join(dest, 'data', 'notes.txt')).mode & 0o7777, 0o640);
  t.equal(statSync(join(dest, 'data')).mode & 0o7777, 0o750, 'directory mode kept');
  t.ok(lstatSync(join(dest, 'link')).isSymbolicLink(), 'the symlink stays a symlink');
  t.equal(readlinkSync(join(dest, 'link')), 'scripts/start.sh', 'with its target verbatim');
  for (const p of ['appspec.yml', 'scripts/start.sh', 'data/notes.txt', 'scripts', 'data']) {
    t.equal(statSync(join(dest, p)).mtimeMs, MTIME.getTime(), `mtime of ${p} kept`);
  }
  t.equal(lstatSync(join(dest, 'link')).mtimeMs, MTIME.getTime(), 'mtime of the symlink kept');
}

/** Builds a well-formed bundle of `type` from the standard tree, under `prefix` when given. */
async function buildBundle(dir: string, type: BundleType, prefix = ''): Promise<string> {
  const tree = join(dir, 'tree');
  const content = prefix === '' ? tree : join(tree, prefix);
  makeTree(content);
  if (type === 'directory') return content;
  const file = join(dir, `bundle.${type}`);
  if (type === 'zip') {
    python(ZIP_TREE, file, content, prefix === '' ? '' : `${prefix}/`);
  } else {
    await tar.c({ file, cwd: tree, gzip: type === 'tgz' }, [prefix === '' ? '.' : prefix]);
  }
  return file;
}

t.test('inferBundleType maps names to types', async (t) => {
  const cases: Array<[string, boolean, BundleType | undefined]> = [
    ['/srv/app', true, 'directory'],
    ['/srv/app.tar', true, 'directory'],
    ['bundle.tar', false, 'tar'],
    ['bundle.tgz', false, 'tgz'],
    ['bundle.tar.gz', false, 'tgz'],
    ['BUNDLE.TAR.GZ', false, 'tgz'],
    ['bundle.zip', false, 'zip'],
    ['bundle.gz', false, undefined],
    ['bundle.tar.bz2', false, undefined],
    ['bundle', false, undefined],
  ];
  for (const [path, isDir, expected] of cases) {
    t.equal(inferBundleType(path, isDir), expected, `${path} (directory: ${isDir})`);
  }
});

for (const type of ['directory', 'tar', 'tgz', 'zip'] as const) {
  t.test(`a ${type} bundle unpacks with modes, mtimes and a symlink preserved`, async (t) => {
    const dirs = workDir(t);
    const source = await buildBundle(dirs.in, type);
    const result = await unpackBundle({ source, type, destDir: dirs.dest, maxBytes: MB });
    t.same(result, { files: 3, bytes: TREE_BYTES });
    assertTree(t, dirs.dest);
    t.same(readdirSync(dirs.out), ['dest'], 'no temp dir left beside destDir');
  });
}

for (const type of ['tar', 'zip'] as const) {
  t.test(`a ${type} wrapper directory holding the appspec is stripped`, async (t) => {
    const dirs = workDir(t);
    const source = await buildBundle(dirs.in, type, 'myapp-1.0');
    const result = await unpackBundle({ source, type, destDir: dirs.dest, maxBytes: MB });
    t.equal(result.strippedWrapper, 'myapp-1.0');
    t.equal(result.files, 3);
    assertTree(t, dirs.dest);
    t.same(readdirSync(dirs.out), ['dest']);
  });
}

t.test('a wrapper directory without an appspec is kept', async (t) => {
  const dirs = workDir(t);
  const file = hostileTar(join(dirs.in, 'b.tar'), "add('myapp/', tarfile.DIRTYPE, mode=0o755)\nadd('myapp/README', data=b'hi')");
  const result = await unpackBundle({ source: file, type: 'tar', destDir: dirs.dest, maxBytes: MB });
  t.equal(result.strippedWrapper, undefined);
  t.equal(readFileSync(join(dirs.dest, 'myapp', 'README'), 'utf8'), 'hi');
});

t.test('a wrapper holding the configured appspec file name is stripped', async (t) => {
  const dirs = workDir(t);
  const file = hostileZip(join(dirs.in, 'b.zip'), "add('app/', mode=0o40755)\nadd('app/deploy.yml', b'version: 0.0')");
  const result = await unpackBundle({
    source: file,
    type: 'zip',
    destDir: dirs.dest,
    maxBytes: MB,
    appspecFileName: 'deploy.yml',
  });
  t.equal(result.strippedWrapper, 'app');
  t.ok(existsSync(join(dirs.dest, 'deploy.yml')));
});

t.test('type and source must agree', async (t) => {
  const dirs = workDir(t);
  const file = join(dirs.in, 'bundle.tar');
  writeFileSync(file, 'x');
  const asTar = unpackBundle({ source: dirs.in, type: 'tar', destDir: dirs.dest, maxBytes: MB });
  await assertRejected(t, dirs, asTar, 'INVALID_ARGUMENT', dirs.in, "'tar'");
  const asDir = unpackBundle({ source: file, type: 'directory', destDir: dirs.dest, maxBytes: MB });
  await assertRejected(t, dirs, asDir, 'INVALID_ARGUMENT', file, "'directory'");
});

t.test('an existing destDir is refused and left alone', async (t) => {
  const dirs = workDir(t);
  const source = await buildBundle(dirs.in, 'tar');
  mkdirSync(dirs.dest, { recursive: true });
  writeFileSync(join(dirs.dest, 'keep'), 'k');
  const err = await rejection(unpackBundle({ source, type: 'tar', destDir: dirs.dest, maxBytes: MB }));
  t.ok(isFerryError(err, 'CONFLICT'));
  t.same(readdirSync(dirs.dest), ['keep']);
});

t.test('a tar with a hardlink and a symlink whose target passes another symlink unpacks', async (t) => {
  const dirs = workDir(t);
  const file = hostileTar(
    join(dirs.in, 'b.tar'),
    [
      "add('releases/1/bin/run', data=b'#!/bin/sh\\n', mode=0o755)",
      "add('current', tarfile.SYMTYPE, linkname='releases/1')",
      "add('bin', tarfile.SYMTYPE, linkname='current/bin')",
      "add('run-again', tarfile.LNKTYPE, linkname='releases/1/bin/run')",
    ].join('\n'),
  );
  const result = await unpackBundle({ source: file, type: 'tar', destDir: dirs.dest, maxBytes: MB });
  t.same(result, { files: 2, bytes: 10 });
  t.equal(readlinkSync(join(dirs.dest, 'bin')), 'current/bin');
  t.equal(readFileSync(join(dirs.dest, 'bin', 'run'), 'utf8'), '#!/bin/sh\n', 'the chain resolves');
  t.equal(statSync(join(dirs.dest, 'run-again')).ino, statSync(join(dirs.dest, 'releases/1/bin/run')).ino);
});

t.test('a zip whose file data is corrupt fails while extracting and leaves nothing behind', async (t) => {
  const dirs = workDir(t);
  const file = join(dirs.in, 'b.zip');
  python(
    `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as zf:
    zf.writestr('appspec.yml', b'version: 0.0')
    zf.writestr('broken', b'z' * 4000)
with zipfile.ZipFile(sys.argv[1]) as zf:
    info = zf.getinfo('broken')
with open(sys.argv[1], 'r+b') as f:
    f.seek(info.header_offset + 30 + len(info.filename) + len(info.extra))
    f.write(b'\\xff' * 8)
`,
    file,
  );
  const promise = unpackBundle({ source: file, type: 'zip', destDir: dirs.dest, maxBytes: MB });
  await assertRejected(t, dirs, promise, 'BUNDLE_REJECTED', 'b.zip', "'broken'");
});

t.test('a directory bundle reached through a symlink is copied', async (t) => {
  const dirs = workDir(t);
  const source = await buildBundle(dirs.in, 'directory');
  symlinkSync(source, join(dirs.in, 'current'));
  const result = await unpackBundle({ source: join(dirs.in, 'current'), type: 'directory', destDir: dirs.dest, maxBytes: MB });
  t.equal(result.files, 3);
  assertTree(t, dirs.dest);
});

t.test('setuid, setgid and sticky bits are masked and owners come from the process', async (t) => {
  const dirs = workDir(t);
  const file = hostileTar(
    join(dirs.in, 'b.tar'),
    [
      "add('suid', data=b'#!/bin/sh\\n', mode=0o4755, uid=1234, gid=1234)",
      "add('sgid', data=b'x', mode=0o2750, uid=1234, gid=1234)",
      "add('tmp/', tarfile.DIRTYPE, mode=0o1777, uid=1234, gid=1234)",
    ].join('\n'),
  );
  await unpackBundle({ source: file, type: 'tar', destDir: dirs.dest, maxBytes: MB });
  t.equal(statSync(join(dirs.dest, 'suid')).mode & 0o7777, 0o755);
  t.equal(statSync(join(dirs.dest, 'sgid')).mode & 0o7777, 0o750);
  t.equal(statSync(join(dirs.dest, 'tmp')).mode & 0o7777, 0o777);
  for (const p of ['suid', 'sgid', 'tmp']) {
    t.equal(statSync(join(dirs.dest, p)).uid, process.getuid?.(), `${p} owned by the process`);
  }
});

t.test('a zip setuid bit is masked too', async (t) => {
  const dirs = workDir(t);
  const file = hostileZip(join(dirs.in, 'b.zip'), "add('suid', b'x', mode=0o104755)");
  await unpackBundle({ source: file, type: 'zip', destDir: dirs.dest, maxBytes: MB });
  t.equal(statSync(join(dirs.dest, 'suid')).mode & 0o7777, 0o755);
});

interface HostileCase {
  name: string;
  type: BundleType;
  /** Builds the bundle in `dir`; `outside` is a unique absolute path that must stay untouched. */
  build(dir: string, outside: string): string;
  needles: (outside: string) => string[];
}

const hostile: HostileCase[] = [
  {
    name: "a tar entry with '..'",
    type: 'tar',
    build: (dir) => hostileTar(join(dir, 'b.tar'), "add('appspec.yml', data=b'x')\nadd('../evil', data=b'pwned')"),
    needles: () => ["'../evil'", "'..'"],
  },
  {
    name: 'a tar entry with an absolute path',
    type: 'tar',
    build: (dir, outside) => hostileTar(join(dir, 'b.tar'), `add('${outside}/abs', data=b'pwned')`),
    needles: (outside) => [`'${outside}/abs'`, 'absolute path'],
  },
  {
    name: 'a tar symlink to /etc',
    type: 'tar',
    build: (dir) => hostileTar(join(dir, 'b.tar'), "add('etc', tarfile.SYMTYPE, linkname='/etc')"),
    needles: () => ["'etc'", "'/etc'"],
  },
  {
    name: 'a tar symlink a -> ../../x',
    type: 'tar',
    build: (dir) => hostileTar(join(dir, 'b.tar'), "add('a', tarfile.SYMTYPE, linkname='../../x')"),
    needles: () => ["'a'", 'resolves outside the bundle'],
  },
  {
    name: 'a tar file written through a symlink to an outside dir',
    type: 'tar',
    build: (dir, outside) =>
      hostileTar(join(dir, 'b.tar'), `add('link', tarfile.SYMTYPE, linkname='${outside}')\nadd('link/file', data=b'pwned')`),
    needles: () => ["'link/file'", "symlink 'link'"],
  },
  {
    name: 'a tar file written through an inside symlink',
    type: 'tar',
    build: (dir) =>
      hostileTar(
        join(dir, 'b.tar'),
        "add('sub/', tarfile.DIRTYPE, mode=0o755)\nadd('link', tarfile.SYMTYPE, linkname='sub')\nadd('link/file', data=b'x')",
      ),
    needles: () => ["'link/file'", "symlink 'link'"],
  },
  {
    name: 'a tar hardlink to /etc/passwd',
    type: 'tar',
    build: (dir) => hostileTar(join(dir, 'b.tar'), "add('passwd', tarfile.LNKTYPE, linkname='/etc/passwd')"),
    needles: () => ["'passwd'", "'/etc/passwd'"],
  },
  {
    name: 'a tar hardlink to ../outside',
    type: 'tar',
    build: (dir) => hostileTar(join(dir, 'b.tar'), "add('h', tarfile.LNKTYPE, linkname='../in/b.tar')"),
    needles: () => ["'h'", 'outside the bundle'],
  },
  {
    name: 'a tar character device',
    type: 'tar',
    build: (dir) => hostileTar(join(dir, 'b.tar'), "add('null', tarfile.CHRTYPE, dev=(1, 3))"),
    needles: () => ["'null'", 'CharacterDevice'],
  },
  {
    name: 'a tar block device',
    type: 'tgz',
    build: (dir) => {
      hostileTar(join(dir, 'b.tar'), "add('sda', tarfile.BLKTYPE, dev=(8, 0))");
      execFileSync('gzip', ['-k', join(dir, 'b.tar')]);
      return join(dir, 'b.tar.gz');
    },
    needles: () => ["'sda'", 'BlockDevice'],
  },
  {
    name: 'a tar FIFO',
    type: 'tar',
    build: (dir) => hostileTar(join(dir, 'b.tar'), "add('pipe', tarfile.FIFOTYPE)"),
    needles: () => ["'pipe'", 'FIFO'],
  },
  {
    name: 'a tar entry of an unknown type',
    type: 'tar',
    build: (dir) => hostileTar(join(dir, 'b.tar'), "add('odd', b'Q')"),
    needles: () => ["'odd'", 'not allowed'],
  },
  {
    name: 'a tar whose files exceed maxBytes',
    type: 'tar',
    build: (dir) => hostileTar(join(dir, 'b.tar'), "add('big', data=b'x' * 5000)"),
    needles: () => ['5000 bytes', 'limit of 1000 bytes'],
  },
  {
    name: 'a corrupt tgz',
    type: 'tgz',
    build: (dir) => {
      const file = join(dir, 'b.tgz');
      writeFileSync(file, Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(600, 0x5a)]));
      return file;
    },
    needles: () => ['b.tgz'],
  },
  {
    name: 'a tgz that is not gzip',
    type: 'tgz',
    build: (dir) => hostileTar(join(dir, 'b.tgz'), "add('appspec.yml', data=b'x')"),
    needles: () => ['b.tgz', 'gzip'],
  },
  {
    name: 'a corrupt tar',
    type: 'tar',
    build: (dir) => {
      const file = join(dir, 'b.tar');
      writeFileSync(file, Buffer.alloc(2048, 0x41));
      return file;
    },
    needles: () => ['b.tar'],
  },
  {
    name: "a zip entry with '..'",
    type: 'zip',
    build: (dir) => hostileZip(join(dir, 'b.zip'), "add('appspec.yml', b'x')\nadd('../evil', b'pwned')"),
    needles: () => ["'../evil'", "'..'"],
  },
  {
    name: 'a zip entry with an absolute path',
    type: 'zip',
    build: (dir, outside) => hostileZip(join(dir, 'b.zip'), `add('${outside}/abs', b'pwned')`),
    needles: (outside) => [`'${outside}/abs'`, 'absolute path'],
  },
  {
    name: 'a zip symlink escaping the bundle',
    type: 'zip',
    build: (dir) => hostileZip(join(dir, 'b.zip'), "add('sub/esc', b'../../outside', mode=0o120777)"),
    needles: () => ["'sub/esc'", 'resolves outside the bundle'],
  },
  {
    name: 'a zip file written through a symlink',
    type: 'zip',
    build: (dir, outside) =>
      hostileZip(join(dir, 'b.zip'), `add('link', b'${outside}', mode=0o120777)\nadd('link/file', b'pwned')`),
    needles: () => ["'link/file'", "symlink 'link'"],
  },
  {
    name: 'a zip FIFO',
    type: 'zip',
    build: (dir) => hostileZip(join(dir, 'b.zip'), "add('pipe', mode=0o010644)"),
    needles: () => ["'pipe'", 'FIFO'],
  },
  {
    name: 'a zip whose files exceed maxBytes',
    type: 'zip',
    build: (dir) => hostileZip(join(dir, 'b.zip'), "add('a', b'x' * 600)\nadd('b', b'y' * 600)"),
    needles: () => ['1200 bytes', 'limit of 1000 bytes'],
  },
  {
    name: 'a corrupt zip',
    type: 'zip',
    build: (dir) => {
      const file = join(dir, 'b.zip');
      writeFileSync(file, Buffer.alloc(300, 0x41));
      return file;
    },
    needles: () => ['b.zip', 'zip'],
  },
  {
    name: 'a directory with a symlink to /etc',
    type: 'directory',
    build: (dir) => {
      makeTree(join(dir, 'tree'));
      symlinkSync('/etc', join(dir, 'tree', 'etc'));
      return join(dir, 'tree');
    },
    needles: () => ["'etc'", "'/etc'"],
  },
  {
    name: 'a directory with a symlink escaping upwards',
    type: 'directory',
    build: (dir) => {
      makeTree(join(dir, 'tree'));
      symlinkSync('../../x', join(dir, 'tree', 'scripts', 'up'));
      return join(dir, 'tree');
    },
    needles: () => ["'scripts/up'", 'resolves outside the bundle'],
  },
  {
    name: 'a directory with a FIFO',
    type: 'directory',
    build: (dir) => {
      makeTree(join(dir, 'tree'));
      execFileSync('mkfifo', [join(dir, 'tree', 'data', 'pipe')]);
      return join(dir, 'tree');
    },
    needles: () => ["'data/pipe'", 'FIFO'],
  },
  {
    name: 'a directory whose files exceed maxBytes',
    type: 'directory',
    build: (dir) => {
      makeTree(join(dir, 'tree'));
      writeFileSync(join(dir, 'tree', 'big'), Buffer.alloc(2000));
      return join(dir, 'tree');
    },
    needles: () => [`${2000 + TREE_BYTES} bytes`, 'limit of 1000 bytes'],
  },
];

for (const c of hostile) {
  t.test(`${c.name} is rejected before anything is written`, async (t) => {
    const dirs = workDir(t);
    const outside = mkdtempSync(join(tmpdir(), 'ferry-outside-'));
    t.teardown(() => rmSync(outside, { recursive: true, force: true }));
    const source = c.build(dirs.in, outside);
    const promise = unpackBundle({ source, type: c.type, destDir: dirs.dest, maxBytes: 1000 });
    await assertRejected(t, dirs, promise, 'BUNDLE_REJECTED', ...c.needles(outside));
    t.same(readdirSync(outside), [], 'nothing written to the outside dir');
    t.notOk(existsSync(join(dirs.in, '..', 'evil')), 'no ../evil beside the work dirs');
  });
}

t.test('symlink chains are followed when deciding where a link lands', async (t) => {
  const links = new Map([
    ['s/up', '..'],
    ['t', 's/up/s/up/..'],
  ]);
  t.equal(resolveLink('s/up', '..', links), 'inside');
  t.equal(resolveLink('t', 's/up/s/up/..', links), 'outside', 'lexically inside, really outside');
  t.equal(resolveLink('loop', 'loop', new Map([['loop', 'loop']])), 'loop');
  t.equal(resolveLink('a/b', '../c', links), 'inside');
});

t.test('findEntryProblems returns every problem, each naming its entry', async (t) => {
  const file = (name: string, size = 1): BundleEntry => ({ name, kind: 'file', size, mode: 0o644 });
  const fifo: BundleEntry = { ...file('dev'), kind: 'special', detail: 'FIFO' };
  const entries = [file('/abs'), file('a/../b'), file('ok'), file('ok'), file('ok/inner'), fifo];
  t.same(findEntryProblems(entries, 0), [
    "entry '/abs': absolute path",
    "entry 'a/../b': path contains a '..' segment",
    "entry 'ok': conflicts with an earlier entry at the same path",
    "entry 'ok/inner': path goes through 'ok', which is not a directory",
    "entry 'dev': FIFO entries are not allowed",
    'bundle unpacks to 1 bytes, more than the limit of 0 bytes',
  ]);
});

t.test('findWrapperDir needs one top-level directory holding an appspec file', async (t) => {
  const e = (name: string, kind: BundleEntry['kind'] = 'file'): BundleEntry => ({
    name,
    kind,
    size: 0,
    mode: 0o644,
  });
  t.equal(findWrapperDir([e('./', 'directory'), e('./app/', 'directory'), e('./app/appspec.yml')]), 'app');
  t.equal(findWrapperDir([e('app/AppSpec.yaml')]), 'app', 'implicit directory, case-insensitive match');
  t.equal(findWrapperDir([e('app/appspec.yml'), e('other')]), undefined, 'two top-level entries');
  t.equal(findWrapperDir([e('app/sub/appspec.yml')]), undefined, 'appspec one level too deep');
  t.equal(findWrapperDir([e('app', 'symlink')]), undefined, 'a symlink is not a wrapper');
  t.equal(findWrapperDir([e('app/spec.yml')], 'spec.yml'), 'app', 'configured name');
});
