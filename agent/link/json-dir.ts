import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FerryError, isDiskFull } from '../../common/errors.js';
import { writeFileAtomic } from '../state/files.js';
import { isSafeId } from '../../common/parse.js';
import { compareText } from '../../common/text.js';

/**
 * A directory of small JSON documents named by id (`<dir>/<id>.json`), written atomically:
 * a crash leaves the old document or the new one, never half. The base of the results outbox
 * and of the accepted-commands store.
 */
export class JsonDir<T> {
  constructor(readonly dir: string) {}

  file(id: string): string {
    if (!isSafeId(id)) throw new FerryError('INVALID_ARGUMENT', `'${id}' cannot name a file in ${this.dir}`);
    return path.join(this.dir, `${id}.json`);
  }

  async put(id: string, doc: T): Promise<void> {
    const file = this.file(id);
    try {
      await writeFileAtomic(file, JSON.stringify(doc, null, 2) + '\n');
    } catch (err) {
      // Node's write errors do not name the file: say which, and that the disk is full when it is.
      if (isDiskFull(err)) throw new FerryError('DISK_FULL', `no space left to write ${file}`, { cause: err });
      throw new FerryError('INTERNAL', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  async get(id: string): Promise<T | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.file(id), 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new FerryError('INTERNAL', `cannot read ${this.file(id)}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** True when a document was removed. */
  async remove(id: string): Promise<boolean> {
    const file = this.file(id);
    try {
      await fs.unlink(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Removes temp files a crash left behind (a write is a temp file renamed into place); returns how many. */
  async pruneTemp(): Promise<number> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const stale = names.filter(n => n.includes('.tmp-'));
    for (const name of stale) await fs.rm(path.join(this.dir, name), { force: true });
    return stale.length;
  }

  /** Every document, oldest first; `unreadable` names files that are not valid JSON. */
  async list(): Promise<{ docs: { id: string; doc: T }[]; unreadable: string[] }> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { docs: [], unreadable: [] };
      throw err;
    }
    const found: { id: string; doc: T; mtimeMs: number }[] = [];
    const unreadable: string[] = [];
    for (const name of names) {
      if (!name.endsWith('.json') || name.includes('.tmp-')) continue;
      const file = path.join(this.dir, name);
      try {
        const [text, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
        found.push({ id: name.slice(0, -'.json'.length), doc: JSON.parse(text) as T, mtimeMs: st.mtimeMs });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile (acked)
        unreadable.push(file);
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs || compareText(a.id, b.id));
    return { docs: found.map(({ id, doc }) => ({ id, doc })), unreadable };
  }
}
