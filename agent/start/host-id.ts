import { randomBytes, randomInt } from 'node:crypto';
import os from 'node:os';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../../common/errors.js';
import { readPointer } from '../state/files.js';
import { isSafeId } from '../../common/parse.js';

export const HOST_ID_FILE = 'host-id';

/** `h-` + 12 lowercase alphanumerics. */
export function generateHostId(rand: (n: number) => number = randomInt): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = 'h-';
  for (let i = 0; i < 12; i++) s += alphabet[rand(alphabet.length)];
  return s;
}

/**
 * What `ferry-agent enroll`/`install --token` enroll as when no --host-id is given: the machine's
 * hostname, so people recognise it (`web-1`, not `h-3k9…`), when it can be a host id and is not a
 * name every machine has (localhost); else a generated id. The coordinator refuses an id that is
 * enrolled already, so an enrolled id stays unique. Pure but for the default argument.
 */
export function defaultHostId(hostname: string = os.hostname(), generate = generateHostId): string {
  const name = hostname.trim().toLowerCase();
  return isSafeId(name) && !/^localhost(\.|$)/.test(name) ? name : generate();
}

/**
 * The host's identity: `--host-id` when given; else the id kept in `<root>/host-id`, generated
 * once on the first start. Created with link(2), so two agents starting at once agree on one id
 * and a reader never sees a half-written file.
 */
export async function resolveHostId(root: string, given: string | undefined, generate = generateHostId): Promise<string> {
  if (given) return given;
  const file = path.join(root, HOST_ID_FILE);
  for (;;) {
    const existing = await readPointer(file);
    if (existing !== undefined) {
      if (!isSafeId(existing)) {
        throw new FerryError('INVALID_ARGUMENT', `${file} holds '${existing.slice(0, 40)}', not a host id: fix it, or remove it to get a new id`);
      }
      return existing;
    }
    const id = generate();
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    await fs.mkdir(root, { recursive: true });
    await fs.writeFile(tmp, id + '\n', { mode: 0o644 });
    try {
      await fs.link(tmp, file);
      return id;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }
}
