import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadAppSpec } from '../../common/appspec/parse.js';
import { formatProblem } from '../../common/appspec/types.js';
import { unpackBundle } from '../../common/bundle/unpack.js';
import { describeError } from '../../common/errors.js';
import type { Revision } from '../domain/types.js';
import type { RevisionTree, TreeEntry } from '../plan-preview/types.js';
import type { RevisionStore } from './revision-store.js';

/**
 * Reads a stored revision for deployment plans: unpacked exactly as the agent unpacks it
 * (`common/bundle/unpack.ts`: same checks, same wrapper stripping) into a temp dir, listed with a
 * SHA-256 per file and its appspec parsed, then removed. Revisions are immutable, so the last few
 * trees are kept in memory by digest.
 */
export class RevisionTrees {
  private readonly cache = new Map<string, Promise<RevisionTree>>();

  constructor(private readonly revisions: RevisionStore, private readonly maxBytes: number, private readonly keep = 8) {}

  load(revision: Pick<Revision, 'digest' | 'bundleType'>): Promise<RevisionTree> {
    let tree = this.cache.get(revision.digest);
    if (!tree) {
      tree = readTree(this.revisions.pathOf(revision.digest), revision, this.maxBytes);
      tree.catch(() => this.cache.delete(revision.digest));
      this.cache.set(revision.digest, tree);
      while (this.cache.size > this.keep) this.cache.delete(this.cache.keys().next().value!);
    }
    return tree;
  }
}

async function readTree(file: string, revision: Pick<Revision, 'digest' | 'bundleType'>, maxBytes: number): Promise<RevisionTree> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ferry-plan-'));
  const dir = path.join(tmp, 'revision');
  try {
    try {
      await unpackBundle({ source: file, type: revision.bundleType, destDir: dir, maxBytes });
    } catch (err) {
      return { digest: revision.digest, entries: new Map(), problems: [`cannot unpack the revision: ${describeError(err)}`] };
    }
    const entries = new Map<string, TreeEntry>();
    await walk(dir, '', entries);
    const loaded = await loadAppSpec(dir);
    const name = loaded.path ? path.basename(loaded.path) : 'appspec.yml';
    return {
      digest: revision.digest, entries, ...(loaded.spec && { spec: loaded.spec }),
      problems: loaded.problems.map(p => formatProblem(name, p)),
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function walk(root: string, rel: string, out: Map<string, TreeEntry>): Promise<void> {
  for (const name of (await readdir(path.join(root, rel))).sort()) {
    const r = rel === '' ? name : `${rel}/${name}`;
    const p = path.join(root, r);
    const st = await lstat(p);
    if (st.isSymbolicLink()) {
      out.set(r, { kind: 'symlink', mode: st.mode & 0o7777, linkTarget: await readlink(p) });
    } else if (st.isDirectory()) {
      out.set(r, { kind: 'dir', mode: st.mode & 0o7777 });
      await walk(root, r, out);
    } else if (st.isFile()) {
      out.set(r, { kind: 'file', mode: st.mode & 0o7777, size: st.size, sha256: await sha256(p) });
    }
  }
}

function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', c => hash.update(c)).on('error', reject).on('end', () => resolve(hash.digest('hex')));
  });
}
