import type { AppSpec } from '../../common/appspec/types.js';
import type { LifecycleEvent, ScriptSource } from '../../common/lifecycle/events.js';

/**
 * The vocabulary of deployment plans ("preview, like a CloudFormation change set"):
 * what a deployment would do, computed from stored revisions without touching any host.
 * Everything in this directory is pure (docs/design/style.md §1): revisions come in as `RevisionTree`s.
 */

/** One entry of an unpacked revision, relative to its root. */
export interface TreeEntry {
  kind: 'file' | 'dir' | 'symlink';
  /** Permission bits (0o7777 mask). */
  mode: number;
  /** Files: SHA-256 of the content. */
  sha256?: string;
  size?: number;
  /** Symlinks: the target as stored. */
  linkTarget?: string;
}

/** A revision as the plan sees it: every entry below its root (after wrapper stripping) and its appspec. */
export interface RevisionTree {
  digest: string;
  /** Relative paths (`a/b.txt`), no leading slash; the root itself is not listed. */
  entries: ReadonlyMap<string, TreeEntry>;
  /** Undefined when the appspec is missing or invalid (see `problems`). */
  spec?: AppSpec;
  problems: string[];
}

/** What one destination path looks like after Install (CodeDeploy semantics, common/install/plan.ts). */
export interface InstalledEntry {
  kind: 'file' | 'dir' | 'symlink';
  mode?: number;
  sha256?: string;
  size?: number;
  linkTarget?: string;
  owner?: string;
  group?: string;
  acl?: string[];
}

export type InstalledTree = ReadonlyMap<string, InstalledEntry>;

export type ChangeType = 'added' | 'changed' | 'removed' | 'permissions';

export interface FileChange {
  /** Absolute destination path on the host. */
  path: string;
  kind: InstalledEntry['kind'];
  change: ChangeType;
  /** What differs, e.g. `content 1a2b3c4d → 5e6f7a8b (120 → 134 bytes)` or `mode 0644 → 0755`. */
  detail: string;
}

export interface FileDiff {
  added: FileChange[];
  changed: FileChange[];
  removed: FileChange[];
  /** Mode, owner, group or ACL changes on paths whose content is unchanged. */
  permissions: FileChange[];
  /** Files and symlinks that stay as they are. */
  unchanged: number;
}

export interface PlannedScript {
  location: string;
  timeoutSeconds: number;
  runas?: string;
}

export interface PlannedHook {
  event: LifecycleEvent;
  /** previous: the host's current revision; current: the new one; agent: Ferry's own step (no scripts). */
  source: ScriptSource;
  /** The revision the scripts come from ('' when the coordinator does not know it). */
  revision: string;
  scripts: PlannedScript[];
}

/** What a host runs for this group now, as the coordinator recorded it. */
export interface CurrentRevision {
  digest: string;
  lastStatus: 'Succeeded' | 'Failed';
  /** False when the last deployment failed before Install: the host still has an older, unrecorded revision. */
  installed: boolean;
}

/** The change from one current revision to the new one: shared by every host that has it. */
export interface RevisionChange {
  /** A digest, `none` (nothing of this group installed yet) or `unknown`. */
  key: string;
  fromRevision: string;
  hooks: PlannedHook[];
  /** Undefined when it cannot be computed (unknown current revision, or an unreadable revision). */
  diff?: FileDiff;
  notes: string[];
}

export interface PlannedHost {
  hostId: string;
  hostname: string;
  zone?: string;
  /** 1-based wave in which the host would start (all hosts succeeding). */
  wave: number;
  current?: CurrentRevision;
  /** `RevisionChange.key`. */
  changeKey: string;
}

export interface Wave {
  index: number;
  zone?: string;
  hostIds: string[];
}
