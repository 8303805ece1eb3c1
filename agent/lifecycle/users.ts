import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ResolvedUser } from './invocation.js';

const run = promisify(execFile);

/** Looks up users and groups by name (through NSS, so LDAP/sssd users work too). */
export interface UserDirectory {
  user(name: string): Promise<ResolvedUser | undefined>;
  group(name: string): Promise<number | undefined>;
}

async function getent(db: 'passwd' | 'group', key: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await run('getent', [db, key], { timeout: 10_000 });
    const line = stdout.split('\n')[0];
    return line ? line.split(':') : undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 2 || code === 'ENOENT') return undefined; // 2: key not found
    throw err;
  }
}

export class NssUserDirectory implements UserDirectory {
  async user(name: string): Promise<ResolvedUser | undefined> {
    const f = await getent('passwd', name);
    if (!f || f.length < 7) return undefined;
    return {
      name: f[0]!,
      uid: Number(f[2]),
      gid: Number(f[3]),
      home: f[5] || '/',
      shell: f[6] || '/bin/sh',
    };
  }

  async group(name: string): Promise<number | undefined> {
    const f = await getent('group', name);
    return f && f.length >= 3 ? Number(f[2]) : undefined;
  }
}
