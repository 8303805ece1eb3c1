import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

export interface BundleFile {
  content: string;
  mode?: number;
}

export interface BundleSpec {
  /** The appspec document (serialized to YAML) or its raw text. */
  appspec: Record<string, unknown> | string;
  appspecName?: string;
  files?: Record<string, string | BundleFile>;
  /** Hook scripts: name → body (a bash shebang and `set -eu` are added); mode 0755. */
  scripts?: Record<string, string>;
}

/** Writes a bundle directory from a small description (test data builder, docs/design/style.md §14). */
export async function writeBundle(dir: string, spec: BundleSpec): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const text = typeof spec.appspec === 'string' ? spec.appspec : stringify(spec.appspec);
  await fs.writeFile(path.join(dir, spec.appspecName ?? 'appspec.yml'), text);
  for (const [rel, f] of Object.entries(spec.files ?? {})) {
    const file = typeof f === 'string' ? { content: f } : f;
    const p = path.join(dir, rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, file.content);
    await fs.chmod(p, file.mode ?? 0o644);
  }
  for (const [rel, body] of Object.entries(spec.scripts ?? {})) {
    const p = path.join(dir, rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    await fs.writeFile(p, `#!/usr/bin/env bash\nset -eu\n${body}\n`);
    await fs.chmod(p, 0o755);
  }
  return dir;
}

/** A hook entry list for every given event, each running scripts/<event>.sh. */
/**
 * A hook script line that waits until the test creates `file` (at most `seconds`): the host stays in
 * that event as long as the test needs, however slowly the test's checks run on a loaded machine.
 */
export function gate(file: string, seconds = 30): string {
  return `i=0; while [ ! -e ${file} ] && [ $i -lt ${seconds * 10} ]; do sleep 0.1; i=$((i+1)); done`;
}

export function hooksFor(events: string[], timeout = 60): Record<string, unknown> {
  return Object.fromEntries(events.map(e => [e, [{ location: `scripts/${e}.sh`, timeout }]]));
}

/** Packs a directory's contents with GNU tar (`tar` or `tgz`) or zip (`zip`). */
export function pack(dir: string, out: string, type: 'tar' | 'tgz' | 'zip', wrapper?: string): string {
  const cwd = wrapper ? path.dirname(dir) : dir;
  const what = wrapper ? path.basename(dir) : '.';
  if (type === 'zip') execFileSync('zip', ['-qry', out, what], { cwd });
  else execFileSync('tar', [type === 'tgz' ? '-czf' : '-cf', out, what], { cwd });
  return out;
}
