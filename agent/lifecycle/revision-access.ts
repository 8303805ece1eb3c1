import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describeError } from '../../common/errors.js';

const run = promisify(execFile);

/**
 * The unpacked revision and its hook logs are private to the agent: each deployment directory
 * (`<root>/<group>/<deployment>`) is 0750 root:root, so a local user cannot read a revision's config
 * and secrets, nor its scripts' output. CodeDeploy's agent leaves them world-readable.
 *
 * A `runas` script must still read itself and its revision: just before such a script runs, its
 * user gets search (x) on the deployment directory through a POSIX ACL. Only that directory's ACL
 * changes, never a file of the revision, so the modes the `files:` install copies are the bundle's.
 * Without `setfacl` (Debian package acl) the directory is opened to everyone (0755) as before, with
 * a warning saying so.
 */
export class RevisionAccess {
  private readonly granted = new Set<string>();

  constructor(private readonly setfacl = 'setfacl') {}

  /** Creates the private deployment directory. */
  static async create(deploymentDir: string): Promise<void> {
    // The group's directory stays searchable (0755): a runas user passes through it.
    await fs.mkdir(path.dirname(deploymentDir), { recursive: true, mode: 0o755 });
    await fs.mkdir(deploymentDir, { recursive: true, mode: 0o750 });
    await fs.chmod(deploymentDir, 0o750);
  }

  /**
   * Lets `uid` reach `revisionDir` (`<deployment dir>/deployment-archive`). Returns a warning when
   * it had to open the directory to every user instead.
   */
  async grant(revisionDir: string, uid: number): Promise<string | undefined> {
    const deploymentDir = path.dirname(revisionDir);
    const key = `${uid}:${deploymentDir}`;
    if (uid === 0 || this.granted.has(key)) return undefined;
    try {
      await run(this.setfacl, ['-m', `u:${uid}:x`, deploymentDir]);
      this.granted.add(key);
      return undefined;
    } catch (err) {
      await fs.chmod(deploymentDir, 0o755);
      this.granted.add(key);
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'setfacl is not installed on this host (install the "acl" package)'
        : `setfacl failed (${describeError(err)})`;
      return `${deploymentDir} is readable by every local user: ${why}, so a runas script can only reach its revision this way`;
    }
  }
}
