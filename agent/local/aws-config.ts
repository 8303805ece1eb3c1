import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';

/**
 * The AWS agent's config file (codedeployagent.yml, keys like `:root_dir:`), as
 * `ferry-agent local -c` reads it so codedeploy-local command lines keep working. Only the keys
 * that mean something to a local run are applied; the rest configure the AWS agent's service
 * connection and are listed as ignored. Pure.
 */
export interface CodeDeployAgentConfig {
  rootDir?: string;
  logDir?: string;
  maxRevisions?: number;
  /** Keys present but not applied, as written (`:proxy_uri:`). */
  ignored: string[];
  /** `file:line key: message`, every problem at once. */
  problems: string[];
}

const APPLIED = ['root_dir', 'log_dir', 'max_revisions'] as const;

export function parseCodeDeployAgentConfig(text: string, file: string): CodeDeployAgentConfig {
  const out: CodeDeployAgentConfig = { ignored: [], problems: [] };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (node: unknown) => {
    const range = (node as { range?: [number] } | null)?.range;
    return range ? `${file}:${lines.linePos(range[0]).line}` : file;
  };
  for (const e of doc.errors) out.problems.push(`${file}:${lines.linePos(e.pos[0]).line}: not valid YAML: ${e.message}`);
  if (out.problems.length > 0) return out;
  if (doc.contents === null) return out;
  if (!isMap(doc.contents)) {
    out.problems.push(`${at(doc.contents)}: must be a mapping of :key: value settings`);
    return out;
  }
  for (const pair of doc.contents.items) {
    const written = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const key = written.replace(/^:/, '').replace(/:$/, '');
    if (!(APPLIED as readonly string[]).includes(key)) {
      out.ignored.push(`:${key}:`);
      continue;
    }
    const value = isScalar(pair.value) ? pair.value.value : undefined;
    if (value === null || value === undefined || value === '') continue;
    if (key === 'max_revisions') {
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) out.maxRevisions = value;
      else out.problems.push(`${at(pair.value)} :max_revisions: must be a whole number of at least 1 (got ${String(value)})`);
    } else if (typeof value !== 'string') {
      out.problems.push(`${at(pair.value)} :${key}: must be a directory path (got ${String(value)})`);
    } else if (key === 'root_dir') {
      out.rootDir = value;
    } else {
      out.logDir = value;
    }
  }
  return out;
}
