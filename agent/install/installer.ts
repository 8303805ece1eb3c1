import { accessSync, constants, lstatSync, readdirSync, statSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { AppSpec, FileExistsBehavior } from '../../common/appspec/types.js';
import type { UserDirectory } from '../lifecycle/users.js';
import { writeFileAtomic } from '../state/files.js';
import { applyInstructions, checkPrerequisites, readCleanupList, removePreviousInstall } from './apply.js';
import { untrustedWriter } from './safe-path.js';
import { installJson } from '../../common/install/instructions.js';
import { type FsView, type PathKind, planInstall } from '../../common/install/plan.js';

export const nodeFsView: FsView = {
  kind(p: string): PathKind | undefined {
    try {
      const st = lstatSync(p);
      if (st.isSymbolicLink()) return 'symlink';
      if (st.isDirectory()) return 'dir';
      if (st.isFile()) return 'file';
      return 'other';
    } catch {
      return undefined;
    }
  },
  isDirectory(p: string): boolean {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  },
  readdir: p => readdirSync(p),
  mode: p => lstatSync(p).mode,
};

/** True when an executable named `name` is on PATH. */
export async function hasTool(name: string, envPath: string | undefined): Promise<boolean> {
  for (const dir of (envPath ?? '').split(':').filter(Boolean)) {
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

export interface InstallInput {
  spec: AppSpec;
  revisionDir: string;
  behavior: FileExistsBehavior;
  cleanupFile: string;
  installJsonFile: string;
  users: UserDirectory;
  envPath: string | undefined;
  /** Said as soon as found (before a later step may fail): destinations others may redirect, paths the cleanup left alone. */
  warn: (text: string) => void;
}

export interface InstallSummary {
  copied: number;
  directories: number;
  removed: number;
  retained: string[];
}

/**
 * The Install step: plan everything first (a conflict or a missing tool fails here, before the
 * previous revision's files are touched), then remove what the group installed last time, then
 * copy and apply permissions, recording each created path in the new cleanup list.
 */
export async function install(input: InstallInput): Promise<InstallSummary> {
  const previouslyInstalled = await readCleanupList(input.cleanupFile);
  const plan = planInstall({
    spec: input.spec,
    revisionDir: input.revisionDir,
    behavior: input.behavior,
    fs: nodeFsView,
    previouslyInstalled,
  });
  await checkPrerequisites(plan.instructions, {
    users: input.users,
    hasTool: name => hasTool(name, input.envPath),
  });
  await writeFileAtomic(input.installJsonFile, installJson(plan));
  for (const w of await destinationWarnings(input.spec)) input.warn(w);
  const { removed, skipped } = await removePreviousInstall(input.cleanupFile);
  for (const m of skipped) input.warn(`cleanup: ${m}`);
  const cleanup = await fs.open(input.cleanupFile, 'a', 0o644);
  try {
    await applyInstructions(plan.instructions, {
      users: input.users,
      record: async p => {
        await cleanup.appendFile(p + '\n');
      },
    });
  } finally {
    await cleanup.close();
  }
  return {
    copied: plan.instructions.filter(i => i.type === 'copy').length,
    directories: plan.instructions.filter(i => i.type === 'mkdir').length,
    removed,
    retained: plan.retained,
  };
}

/** A warning for each destination whose directory or parent a user other than root may write to: that user can redirect installs there. */
async function destinationWarnings(spec: AppSpec): Promise<string[]> {
  const out: string[] = [];
  for (const dest of new Set(spec.files.map(f => f.destination))) {
    for (const dir of [path.dirname(dest), dest]) {
      const why = await untrustedWriter(dir);
      if (why) {
        out.push(`destination ${dest}: ${dir} is ${why}; whoever can write there can swap directories for symlinks (Ferry refuses to install through those)`);
        break;
      }
    }
  }
  return out;
}
