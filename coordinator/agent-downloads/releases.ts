import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { AGENT_VERSION_MARK } from '../../common/version.js';
import { servedFiles } from './http-agent.js';

/**
 * The agent binaries the coordinator serves (DATA/agent/ferry-agent-linux-<arch>) and the version
 * each carries: read from the file (the bundle's first comment, `ferry-agent-version:X;`, put
 * there by ops/agent-binary/bundle.ts), so an arm64 binary is known on an x64 coordinator.
 * Read again only when a file's size or time changes.
 */

export interface AgentRelease {
  /** The file name under /v1/agent/files/. */
  name: string;
  arch: string;
  version: string;
  sha256: string;
  size: number;
}

const VERSION = /^[0-9A-Za-z.+~_-]{1,64}$/;

/** The version after the first AGENT_VERSION_MARK followed by `X;` in the file, or undefined. */
export async function versionInFile(file: string): Promise<string | undefined> {
  const mark = Buffer.from(AGENT_VERSION_MARK);
  let tail = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = Buffer.concat([tail, chunk as Buffer]);
    for (let i = buf.indexOf(mark); i >= 0; i = buf.indexOf(mark, i + 1)) {
      const end = buf.indexOf(';', i + mark.length);
      if (end < 0 || end - i - mark.length > 64) {
        if (buf.length - i < mark.length + 66) break; // may continue in the next chunk
        continue;
      }
      const version = buf.subarray(i + mark.length, end).toString('latin1');
      if (VERSION.test(version)) return version;
    }
    tail = buf.subarray(Math.max(0, buf.length - mark.length - 66));
  }
  return undefined;
}

export class AgentReleases {
  private readonly versions = new Map<string, { key: string; version: string | undefined }>();
  private last: AgentRelease[] = [];

  constructor(private readonly dir: string) {}

  /** Reads the directory again (cheap when nothing changed) and returns one release per architecture. */
  async refresh(): Promise<AgentRelease[]> {
    const out: AgentRelease[] = [];
    for (const f of await servedFiles(this.dir)) {
      const m = /^ferry-agent-linux-([a-z0-9_]+)$/.exec(f.name);
      if (!m) continue;
      const file = path.join(this.dir, f.name);
      const st = await fs.stat(file);
      const key = `${f.sha256} ${st.size} ${st.mtimeMs}`;
      let v = this.versions.get(f.name);
      if (v?.key !== key) {
        v = { key, version: await versionInFile(file) };
        this.versions.set(f.name, v);
      }
      if (v.version) out.push({ name: f.name, arch: m[1]!, version: v.version, sha256: f.sha256, size: f.size });
    }
    this.last = out;
    return out;
  }

  /** The release for an architecture as of the last refresh (`x64`, `arm64`: the agent's facts.arch). */
  forArch(arch: string): AgentRelease | undefined {
    return this.last.find(r => r.arch === arch);
  }
}
