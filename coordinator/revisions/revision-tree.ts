import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readlink, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadAppSpec } from '../../common/appspec/parse.js';
import { formatProblem } from '../../common/appspec/types.js';
import { unpackBundle } from '../../common/bundle/unpack.js';
import { FerryError, describeError } from '../../common/errors.js';
import type { Revision } from '../domain/types.js';
import type { RevisionTree, TreeEntry } from '../plan-preview/types.js';
import type { RevisionStore } from './revision-store.js';

/**
 * Reads a stored revision for deployment plans: unpacked exactly as the agent unpacks it
 * (`common/bundle/unpack.ts`: same checks, same wrapper stripping) into a temp dir, listed with a
 * SHA-256 per file and its appspec parsed, then removed. Revisions are immutable, so the last few
 * trees are kept in memory by digest.
 *
 * Bounded (docs/security.md, "Plans"): a deployer's bundle of compressed zeros must not fill the
 * disk. A revision is unpacked only up to `maxBytes` and to `maxRatio` times its compressed size
 * (both checked on the declared sizes, before anything is written), and at most `concurrency`
 * revisions are unpacked at once; a few more plans wait their turn, the rest are refused.
 */
export const PLAN_MAX_RATIO = 100;
export const PLAN_CONCURRENCY = 1;
export const PLAN_WAITING = 8;

export class RevisionTrees {
  private readonly cache = new Map<string, Promise<RevisionTree>>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly revisions: RevisionStore, private readonly maxBytes: number, private readonly keep = 8,
    private readonly limits = { maxRatio: PLAN_MAX_RATIO, concurrency: PLAN_CONCURRENCY, waiting: PLAN_WAITING }) {}

  load(revision: Pick<Revision, 'digest' | 'bundleType'>): Promise<RevisionTree> {
    let tree = this.cache.get(revision.digest);
    if (!tree) {
      tree = this.bounded(async () => readTree(await this.revisions.localPath(revision.digest), revision, this.maxBytes, this.limits.maxRatio));
      tree.catch(() => this.cache.delete(revision.digest));
      this.cache.set(revision.digest, tree);
      while (this.cache.size > this.keep) this.cache.delete(this.cache.keys().next().value!);
    }
    return tree;
  }

  /** Runs `fn` when fewer than `concurrency` unpacks run; refuses when too many already wait. */
  private async bounded<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limits.concurrency) {
      if (this.waiting.length >= this.limits.waiting) {
        throw new FerryError('RESOURCE_EXHAUSTED', `${this.active + this.waiting.length} deployment plans are unpacking revisions or waiting to: try ferry deploy plan again in a moment`);
      }
      await new Promise<void>(resolve => this.waiting.push(resolve));
    } else {
      this.active += 1;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes on
      else this.active -= 1;
    }
  }
}

async function readTree(file: string, revision: Pick<Revision, 'digest' | 'bundleType'>, maxBytes: number, maxRatio: number): Promise<RevisionTree> {
  const compressed = (await stat(file)).size;
  const limit = Math.min(maxBytes, Math.max(1, compressed) * maxRatio);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ferry-plan-'));
  const dir = path.join(tmp, 'revision');
  try {
    try {
      await unpackBundle({ source: file, type: revision.bundleType, destDir: dir, maxBytes: limit });
    } catch (err) {
      const why = `a plan unpacks a revision to at most ${maxRatio}× its compressed size (${compressed} bytes) and at most ${maxBytes} bytes`;
      return { digest: revision.digest, entries: new Map(), problems: [`cannot unpack the revision: ${describeError(err)} (${why})`] };
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
