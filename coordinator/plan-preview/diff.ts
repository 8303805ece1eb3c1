import type { FileChange, FileDiff, InstalledEntry, InstalledTree } from './types.js';

/**
 * The file-level change from what a host has (`before`, the installed tree of its current
 * revision; empty when it has none) to what the new revision installs (`after`), at destination
 * paths. Files and symlinks are added, removed or changed (content digest, link target or kind);
 * mode, owner, group and ACL changes on otherwise unchanged paths are permission changes.
 * Directories appear only as permission changes: whether a parent such as /var exists is the
 * host's business, and the agent removes a directory of the old revision only when it is empty.
 */
export function diffInstalled(before: InstalledTree, after: InstalledTree): FileDiff {
  const diff: FileDiff = { added: [], changed: [], removed: [], permissions: [], unchanged: 0 };
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const p of paths) {
    const a = before.get(p);
    const b = after.get(p);
    if (!a || !b) {
      const e = (a ?? b)!;
      if (e.kind === 'dir') continue;
      const change = a ? 'removed' : 'added';
      diff[change].push({ path: p, kind: e.kind, change, detail: describe(e) });
      continue;
    }
    const content = contentChange(a, b);
    const perms = permissionChange(a, b);
    if (content !== undefined && b.kind !== 'dir') {
      diff.changed.push({ path: p, kind: b.kind, change: 'changed', detail: [content, ...perms].join('; ') });
    } else if (perms.length > 0) {
      diff.permissions.push({ path: p, kind: b.kind, change: 'permissions', detail: perms.join('; ') });
    } else if (b.kind !== 'dir') {
      diff.unchanged += 1;
    }
  }
  return diff;
}

/** Counts per change type, for summaries. */
export function diffCounts(d: FileDiff): Record<'added' | 'changed' | 'removed' | 'permissions' | 'unchanged', number> {
  return { added: d.added.length, changed: d.changed.length, removed: d.removed.length, permissions: d.permissions.length, unchanged: d.unchanged };
}

/** Every change, in the order a reader wants them: added, changed, removed, permissions. */
export function allChanges(d: FileDiff): FileChange[] {
  return [...d.added, ...d.changed, ...d.removed, ...d.permissions];
}

function contentChange(a: InstalledEntry, b: InstalledEntry): string | undefined {
  if (a.kind !== b.kind) return `${a.kind} → ${b.kind}`;
  if (a.kind === 'symlink' && a.linkTarget !== b.linkTarget) return `link target ${a.linkTarget} → ${b.linkTarget}`;
  if (a.kind === 'file' && a.sha256 !== b.sha256) {
    return `content ${short(a.sha256)} → ${short(b.sha256)} (${a.size ?? 0} → ${b.size ?? 0} bytes)`;
  }
  return undefined;
}

function permissionChange(a: InstalledEntry, b: InstalledEntry): string[] {
  const out: string[] = [];
  if (a.kind !== 'symlink' && b.kind !== 'symlink' && a.mode !== b.mode) out.push(`mode ${octal(a.mode)} → ${octal(b.mode)}`);
  if (a.owner !== b.owner) out.push(`owner ${a.owner ?? 'unset'} → ${b.owner ?? 'unset'}`);
  if (a.group !== b.group) out.push(`group ${a.group ?? 'unset'} → ${b.group ?? 'unset'}`);
  if ((a.acl ?? []).join(',') !== (b.acl ?? []).join(',')) out.push(`acl ${a.acl?.join(',') || 'none'} → ${b.acl?.join(',') || 'none'}`);
  return out;
}

function describe(e: InstalledEntry): string {
  if (e.kind === 'symlink') return `symlink → ${e.linkTarget}`;
  const owner = e.owner !== undefined || e.group !== undefined ? `, ${e.owner ?? ''}:${e.group ?? ''}` : '';
  return `${e.size ?? 0} bytes, mode ${octal(e.mode)}${owner}`;
}

export function octal(mode: number | undefined): string {
  return mode === undefined ? 'unset' : mode.toString(8).padStart(4, '0');
}

function short(digest: string | undefined): string {
  return (digest ?? '').slice(0, 8) || 'none';
}
