import type { LifecycleEvent } from '../lifecycle/events.js';

export const FILE_EXISTS_BEHAVIORS = ['DISALLOW', 'OVERWRITE', 'RETAIN'] as const;
export type FileExistsBehavior = (typeof FILE_EXISTS_BEHAVIORS)[number];

export const DEFAULT_HOOK_TIMEOUT_SECONDS = 3600;

/** One problem found in an input file: key path (e.g. `hooks.ApplicationStart[0].timeout`), 1-based line. */
export interface Problem {
  path: string;
  line?: number;
  message: string;
}

export interface FileMapping {
  /** Relative to the revision root; `/` means the whole revision. */
  source: string;
  /** Absolute path on the host. */
  destination: string;
  line?: number;
}

export type PermissionType = 'file' | 'directory';

export interface SelinuxContext {
  name?: string;
  type: string;
  range?: string;
}

export interface PermissionSpec {
  object: string;
  pattern: string;
  except: string[];
  owner?: string;
  group?: string;
  /** Parsed octal mode, e.g. 0o644. */
  mode?: number;
  acls?: string[];
  context?: SelinuxContext;
  types: PermissionType[];
  line?: number;
}

export interface HookScript {
  location: string;
  timeoutSeconds: number;
  runas?: string;
  line?: number;
}

export interface AppSpec {
  /** File name the spec was read from, relative to the revision root. */
  fileName: string;
  version: '0.0';
  os: 'linux';
  files: FileMapping[];
  permissions: PermissionSpec[];
  hooks: Partial<Record<LifecycleEvent, HookScript[]>>;
  /**
   * Hooks under names that are not lifecycle events, in file order: custom events, run only
   * when `ferry-agent local --events` names them (as codedeploy-local does).
   */
  customHooks?: Record<string, HookScript[]>;
  fileExistsBehavior?: FileExistsBehavior;
}

export interface AppSpecParseResult {
  spec?: AppSpec;
  problems: Problem[];
  warnings: Problem[];
}

/** `appspec.yml:12 hooks.ApplicationStart[0].timeout: must be a positive integer` */
export function formatProblem(fileName: string, p: Problem): string {
  const where = p.line !== undefined ? `${fileName}:${p.line}` : fileName;
  return p.path ? `${where} ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}
