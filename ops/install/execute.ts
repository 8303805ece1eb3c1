import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FerryError, describeError } from '../../common/errors.js';
import { describeStep } from './plan.js';
import { type Step } from './types.js';

/** Runs a command to completion; the only place install spawns. */
export type CommandRunner = (argv: readonly string[]) => { code: number; output: string };

export const spawnRunner: CommandRunner = argv => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return { code: 127, output: describeError(r.error) };
  return { code: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
};

/**
 * The trust steps, given by the program being installed (ops/ferry-agent.ts, ops/ferry-coordinator.ts):
 * the agent's install never loads the coordinator's CA code or SQLite, the coordinator's never the
 * agent's gRPC client.
 */
export interface TrustEffects {
  enroll?: (req: { coordinator: string; token: string; caFingerprint: string; rootDir: string; hostId?: string }) => Promise<{ hostId: string; files: { dir: string } }>;
  init?: (dataDir: string, sans: readonly string[], nowMs: number) => Promise<{ caFingerprint: string; caCert: string; adminTokenFile: string; adminTokenId: string }>;
}

export interface ExecuteOptions {
  run?: CommandRunner;
  trust?: TrustEffects;
  /** The join token an `enroll` step sends; kept out of the steps, which are printed. */
  joinToken?: string;
}

/** What the trust steps produced, for the report (never a token or key). */
export interface StepResults {
  enrolled?: { hostId: string; tlsDir: string };
  initialised?: { caFingerprint: string; caCert: string; adminTokenFile: string; adminTokenId: string };
}

/**
 * Performs the steps in order (docs/design/style.md §7: the one place install/uninstall change the machine),
 * reporting each line through `say` before doing it, and what enroll/init made after it. Stops at
 * the first failure with an INSTALL_FAILED error naming the step.
 */
export async function executeSteps(steps: readonly Step[], say: (line: string) => void, opts: ExecuteOptions = {}): Promise<StepResults> {
  const results: StepResults = {};
  for (const step of steps) {
    say(describeStep(step));
    try {
      await perform(step, opts.run ?? spawnRunner, opts.joinToken, opts.trust ?? {}, results, say);
    } catch (err) {
      throw new FerryError('INSTALL_FAILED', `${describeStep(step)}: ${describeError(err)}`, { cause: err });
    }
  }
  return results;
}

async function perform(s: Step, run: CommandRunner, joinToken: string | undefined, trust: TrustEffects, results: StepResults, say: (line: string) => void): Promise<void> {
  switch (s.kind) {
    case 'mkdir':
      await fs.mkdir(s.path, { recursive: true, mode: s.mode });
      return;
    case 'copy':
      await fs.rm(s.to, { recursive: true, force: true });
      await fs.mkdir(s.to, { recursive: true, mode: 0o755 });
      for (const entry of s.entries) {
        // realpath: a checkout's node_modules may be a symlink; the copy holds real files.
        const from = await fs.realpath(path.join(s.from, entry));
        await fs.mkdir(path.dirname(path.join(s.to, entry)), { recursive: true, mode: 0o755 });
        await fs.cp(from, path.join(s.to, entry), { recursive: true, preserveTimestamps: true, filter: src => !src.endsWith('.map') });
      }
      return;
    case 'swap': {
      await fs.rm(s.old, { recursive: true, force: true });
      const had = await exists(s.target);
      if (had) await fs.rename(s.target, s.old);
      await fs.rename(s.staged, s.target);
      if (had) await fs.rm(s.old, { recursive: true, force: true });
      return;
    }
    case 'write': {
      // Written beside, then renamed: a crash never leaves half a config or unit.
      const tmp = `${s.path}.tmp-${process.pid}`;
      await fs.writeFile(tmp, s.content, { mode: s.mode });
      await fs.chmod(tmp, s.mode);
      await fs.rename(tmp, s.path);
      return;
    }
    case 'remove':
      await fs.rm(s.path, { recursive: true, force: true });
      return;
    case 'rmdir':
      try {
        await fs.rmdir(s.path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      }
      return;
    case 'run': {
      const r = run(s.argv);
      if (r.code !== 0 && !s.ignoreFailure) throw new Error(`exit ${r.code}${r.output ? `: ${r.output}` : ''}`);
      return;
    }
    case 'enroll': {
      if (!joinToken) throw new Error('no join token was given (--token or FERRY_JOIN_TOKEN)');
      if (!trust.enroll) throw new Error('this program does not enroll hosts (ferry-agent install does)');
      const r = await trust.enroll({ coordinator: s.coordinator, token: joinToken, caFingerprint: s.caFingerprint, rootDir: s.rootDir, ...(s.hostId && { hostId: s.hostId }) });
      results.enrolled = { hostId: r.hostId, tlsDir: r.files.dir };
      say(`        enrolled host ${r.hostId}: key and certificate in ${r.files.dir}/ (0600)`);
      return;
    }
    case 'init': {
      if (!trust.init) throw new Error('this program does not initialise coordinators (ferry-coordinator install does)');
      const r = await trust.init(s.data, s.sans, Date.now());
      results.initialised = { caFingerprint: r.caFingerprint, caCert: r.caCert, adminTokenFile: r.adminTokenFile, adminTokenId: r.adminTokenId };
      say(`        CA fingerprint SHA256 ${r.caFingerprint} (agents pin it: ferry-agent install --ca-fingerprint …)`);
      say(`        admin token in ${r.adminTokenFile} (0600; token id ${r.adminTokenId}): FERRY_TOKEN=$(cat ${r.adminTokenFile}) ferry …`);
      return;
    }
    case 'note':
      return;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
