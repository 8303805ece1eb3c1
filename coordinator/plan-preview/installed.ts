import path from 'node:path';
import type { AppSpec, FileExistsBehavior } from '../../common/appspec/types.js';
import type { Instruction } from '../../common/install/instructions.js';
import { type FsView, type PathKind, planInstall } from '../../common/install/plan.js';
import type { InstalledEntry, InstalledTree, RevisionTree, TreeEntry } from './types.js';

/** Where the revision "is" for the install planner: a path no destination uses. */
export const VIRTUAL_ROOT = '/.ferry-plan-revision';

/**
 * A read-only `FsView` over a revision tree, for the agent's own install planner. Paths outside
 * the revision (the host's destinations) are absent: the plan never looks at a host, so an
 * existing file that the group did not install is not seen (file_exists_behavior is the agent's call).
 */
export function treeFsView(tree: RevisionTree): FsView {
  const children = new Map<string, string[]>([['', []]]);
  for (const rel of [...tree.entries.keys()].sort()) {
    const parent = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
    const list = children.get(parent) ?? [];
    list.push(path.posix.basename(rel));
    children.set(parent, list);
  }
  const rel = (p: string): string | undefined => {
    if (p === VIRTUAL_ROOT) return '';
    return p.startsWith(VIRTUAL_ROOT + '/') ? p.slice(VIRTUAL_ROOT.length + 1) : undefined;
  };
  const entry = (p: string): TreeEntry | undefined => {
    const r = rel(p);
    if (r === undefined) return undefined;
    return r === '' ? { kind: 'dir', mode: 0o755 } : tree.entries.get(r);
  };
  return {
    kind: (p): PathKind | undefined => entry(p)?.kind,
    isDirectory: p => entry(p)?.kind === 'dir',
    readdir: p => children.get(rel(p) ?? '\0') ?? [],
    mode: p => entry(p)?.mode ?? 0o644,
  };
}

/**
 * What the revision's Install puts on a host, by destination path: the agent's planner
 * (`planInstall`: `files:` source → destination, then `permissions:`) run against the tree.
 * Throws the planner's INSTALL_FAILED (e.g. two sources to one destination) as the agent would.
 */
export function installedTree(spec: AppSpec, tree: RevisionTree, behavior: FileExistsBehavior = 'OVERWRITE'): InstalledTree {
  const plan = planInstall({ spec, revisionDir: VIRTUAL_ROOT, behavior, fs: treeFsView(tree), previouslyInstalled: new Set() });
  return applyToTree(plan.instructions, tree);
}

function applyToTree(instructions: readonly Instruction[], tree: RevisionTree): Map<string, InstalledEntry> {
  const out = new Map<string, InstalledEntry>();
  const source = (p: string): TreeEntry | undefined => tree.entries.get(p.slice(VIRTUAL_ROOT.length + 1));
  for (const i of instructions) {
    switch (i.type) {
      case 'mkdir':
        out.set(i.directory, { kind: 'dir', mode: i.mode & 0o7777 });
        break;
      case 'copy': {
        const s = source(i.source);
        out.set(i.destination, {
          kind: i.kind,
          ...(i.kind === 'file' && s && { mode: s.mode & 0o7777, sha256: s.sha256 ?? '', size: s.size ?? 0 }),
          ...(i.kind === 'symlink' && { linkTarget: s?.linkTarget ?? '' }),
        });
        break;
      }
      case 'chmod':
        update(out, i.file, { mode: parseInt(i.mode, 8) });
        break;
      case 'chown':
        update(out, i.file, { ...(i.owner !== undefined && { owner: i.owner }), ...(i.group !== undefined && { group: i.group }) });
        break;
      case 'setfacl':
        update(out, i.file, { acl: [...i.acl] });
        break;
    }
  }
  return out;
}

function update(tree: Map<string, InstalledEntry>, file: string, patch: Partial<InstalledEntry>): void {
  const e = tree.get(file);
  if (e) tree.set(file, { ...e, ...patch });
}
