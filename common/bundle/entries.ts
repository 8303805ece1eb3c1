/**
 * The pure half of bundle unpacking: what an archive holds, described as data, and every reason to
 * refuse it. Readers (tar, zip, directory) list entries; nothing is written until
 * `findEntryProblems` returns no problems.
 */
import path from 'node:path';

export type EntryKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'special';

export interface BundleEntry {
  /** The name exactly as the archive spells it; used in messages. */
  readonly name: string;
  readonly kind: EntryKind;
  /** The archive's own type name for `special` entries (e.g. 'CharacterDevice', 'FIFO'). */
  readonly detail?: string;
  /** Content bytes (files only). */
  readonly size: number;
  /** Permission bits, already masked with 0o777. */
  readonly mode: number;
  readonly mtime?: Date;
  /** Symlink target (as stored) or hardlink target (relative to the archive root). */
  readonly linkTarget?: string;
}

/** Longest symlink chain followed while checking where a link lands (Linux uses 40 too). */
const MAX_LINK_HOPS = 40;

/** Absolute in the POSIX sense, or carrying a Windows root (`C:`, `\\`), which npm tar also strips. */
export function isAbsoluteName(name: string): boolean {
  return name.startsWith('/') || path.win32.parse(name).root !== '';
}

/** The clean segments of an entry name (`./a//b/` → ['a', 'b']), or why the name is unsafe. */
export function entrySegments(name: string): { segments: string[] } | { problem: string } {
  if (name.includes('\0')) return { problem: 'name contains a NUL byte' };
  if (isAbsoluteName(name)) return { problem: 'absolute path' };
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { problem: "path contains a '..' segment" };
  return { segments };
}

/** The normalized relative path of a valid entry ('' for the archive root itself). */
export function entryPath(entry: BundleEntry): string | undefined {
  const result = entrySegments(entry.name);
  return 'segments' in result ? result.segments.join('/') : undefined;
}

/** `atLeast` when the count stopped early, as soon as the limit was passed. */
export function sizeProblem(total: number, maxBytes: number, atLeast = false): string {
  const amount = atLeast ? `at least ${total}` : `${total}`;
  return `bundle unpacks to ${amount} bytes, more than the limit of ${maxBytes} bytes`;
}

/**
 * Every reason to refuse these entries, in archive order, each naming the entry. Empty means the
 * entries may be extracted. Rules: no absolute or `..` paths, no special files, nothing written
 * through a symlink or a file, no duplicates (except a directory repeated), symlinks land inside
 * the root (following symlinks of the archive itself), hardlinks point at an earlier file, and
 * the total of file sizes stays within `maxBytes`.
 */
export function findEntryProblems(entries: readonly BundleEntry[], maxBytes: number): string[] {
  const problems: string[] = [];
  const seen = new Map<string, EntryKind>();
  const symlinks = new Map<string, BundleEntry>();
  let total = 0;
  for (const entry of entries) {
    const problem = entryProblem(entry, seen);
    const p = entryPath(entry);
    if (p !== undefined) remember(p, entry.kind, seen);
    if (problem !== undefined) {
      problems.push(problem);
      continue;
    }
    if (entry.kind === 'file') total += entry.size;
    if (entry.kind === 'symlink') symlinks.set(p as string, entry);
  }
  const targets = new Map([...symlinks].map(([p, e]) => [p, e.linkTarget ?? ''] as const));
  for (const [p, entry] of symlinks) {
    const landing = resolveLink(p, entry.linkTarget ?? '', targets);
    const named = `entry '${entry.name}': symlink target '${entry.linkTarget}'`;
    if (landing === 'outside') problems.push(`${named} resolves outside the bundle`);
    if (landing === 'loop') problems.push(`${named} goes through too many symlinks`);
  }
  if (total > maxBytes) problems.push(sizeProblem(total, maxBytes));
  return problems;
}

/** The problem with one entry, judged against the entries before it. */
function entryProblem(entry: BundleEntry, seen: Map<string, EntryKind>): string | undefined {
  const named = `entry '${entry.name}'`;
  const result = entrySegments(entry.name);
  if ('problem' in result) return `${named}: ${result.problem}`;
  const { segments } = result;
  if (entry.kind === 'special') {
    return `${named}: ${entry.detail ?? 'special'} entries are not allowed`;
  }
  if (segments.length === 0 && entry.kind !== 'directory') {
    return `${named}: the bundle root must be a directory`;
  }
  for (let i = 1; i < segments.length; i++) {
    const prefix = segments.slice(0, i).join('/');
    const kind = seen.get(prefix);
    if (kind === 'symlink') return `${named}: path goes through symlink '${prefix}'`;
    if (kind !== undefined && kind !== 'directory') {
      return `${named}: path goes through '${prefix}', which is not a directory`;
    }
  }
  const p = segments.join('/');
  const earlier = seen.get(p);
  if (earlier !== undefined && !(earlier === 'directory' && entry.kind === 'directory')) {
    return `${named}: conflicts with an earlier entry at the same path`;
  }
  const linkProblem = linkTargetProblem(entry, seen);
  return linkProblem === undefined ? undefined : `${named}: ${linkProblem}`;
}

/** Records an entry (kept even when refused, so later entries are judged against it) and its parents. */
function remember(p: string, kind: EntryKind, seen: Map<string, EntryKind>): void {
  const segments = p === '' ? [] : p.split('/');
  for (let i = 1; i < segments.length; i++) {
    const prefix = segments.slice(0, i).join('/');
    if (!seen.has(prefix)) seen.set(prefix, 'directory');
  }
  if (!seen.has(p)) seen.set(p, kind);
}

function linkTargetProblem(entry: BundleEntry, seen: Map<string, EntryKind>): string | undefined {
  if (entry.kind !== 'symlink' && entry.kind !== 'hardlink') return undefined;
  const target = entry.linkTarget ?? '';
  if (target === '') return `${entry.kind} without a target`;
  if (target.includes('\0')) return `${entry.kind} target contains a NUL byte`;
  if (isAbsoluteName(target)) return `${entry.kind} target '${target}' is an absolute path`;
  if (entry.kind === 'symlink') return undefined;
  const result = entrySegments(target);
  if ('problem' in result) return `hardlink target '${target}' is outside the bundle`;
  const kind = seen.get(result.segments.join('/'));
  if (kind !== 'file' && kind !== 'hardlink') {
    return `hardlink target '${target}' is not an earlier file of the bundle`;
  }
  return undefined;
}

/**
 * Where a symlink at `linkPath` pointing at `target` lands, following the archive's own symlinks
 * (`links`: normalized path → target) the way the kernel would, without touching any file system.
 */
export function resolveLink(
  linkPath: string,
  target: string,
  links: ReadonlyMap<string, string>,
): 'inside' | 'outside' | 'loop' {
  const stack = linkPath.split('/').slice(0, -1);
  const pending = target.split('/');
  let hops = 0;
  while (pending.length > 0) {
    const segment = pending.shift() as string;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (stack.length === 0) return 'outside';
      stack.pop();
      continue;
    }
    stack.push(segment);
    const next = links.get(stack.join('/'));
    if (next === undefined) continue;
    if (++hops > MAX_LINK_HOPS) return 'loop';
    if (isAbsoluteName(next)) return 'outside';
    stack.pop();
    pending.unshift(...next.split('/'));
  }
  return 'inside';
}

/**
 * The single top-level directory to strip, CodeDeploy style: the root holds exactly one entry, a
 * directory, holding a file whose name matches /appspec/i (or equals `appspecFileName`).
 */
export function findWrapperDir(
  entries: readonly BundleEntry[],
  appspecFileName?: string,
): string | undefined {
  const top = new Map<string, boolean>(); // name → is a directory
  let hasAppspec = false;
  for (const entry of entries) {
    const segments = (entryPath(entry) ?? '').split('/').filter((s) => s !== '');
    const [first, second] = segments;
    if (first === undefined) continue;
    top.set(first, (top.get(first) ?? true) && (segments.length > 1 || entry.kind === 'directory'));
    if (segments.length === 2 && second !== undefined && isRegular(entry.kind)) {
      hasAppspec ||= /appspec/i.test(second) || second === appspecFileName;
    }
  }
  const [only] = top;
  if (top.size !== 1 || only === undefined || !only[1] || !hasAppspec) return undefined;
  return only[0];
}

function isRegular(kind: EntryKind): boolean {
  return kind === 'file' || kind === 'hardlink';
}

/** Regular files (hardlinks included) and the bytes of file content. */
export function countFiles(entries: readonly BundleEntry[]): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of entries) {
    if (!isRegular(entry.kind)) continue;
    files++;
    if (entry.kind === 'file') bytes += entry.size;
  }
  return { files, bytes };
}

/** One bundle, listed and ready to extract; the tar, zip and directory readers implement it. */
export interface BundleReader {
  /** Every entry in archive order, listed without writing anything. */
  readonly entries: readonly BundleEntry[];
  /** Writes the (already validated) entries under `root`, an existing empty directory. */
  extract(root: string): Promise<void>;
  close(): void;
}
