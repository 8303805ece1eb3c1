import { createHash, X509Certificate } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { describeError } from '../../common/errors.js';
import { type ServedFile, installScript } from './install-script.js';

/**
 * The agent's downloads, on the coordinator's one port (HTTP/1.1, beside the revision downloads):
 *
 *   GET /v1/agent/install.sh        the one-line install (install-script.ts), for this coordinator
 *   GET /v1/agent/files/<name>      a file of DATA/agent/: the binary, .deb and .rpm per architecture
 *   GET /v1/agent/ca.crt            the CA certificate (TLS), which the script checks by fingerprint
 *
 * Open to anyone, like the CA: the files are the public agent, and a host proves nothing until it
 * enrolls with a join token. What is served is whatever `npm run build:agent` put in DATA/agent/.
 */
export const AGENT_PATH = '/v1/agent/';
const NAME = /^ferry-agent[A-Za-z0-9._+~-]*$/;

export interface AgentDownloadsOptions {
  /** DATA/agent/. */
  dir: string;
  /** The CA certificate file (TLS); absent with --insecure. */
  caCert?: string;
  log: (message: string, fields: Record<string, unknown>) => void;
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
}

/** SHA-256 of each served file, recomputed only when its size or time changes. */
const digests = new Map<string, { key: string; sha256: string }>();

export async function servedFiles(dir: string): Promise<ServedFile[]> {
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter(n => NAME.test(n) && !n.endsWith('.sha256') && !n.endsWith('.key')).sort();
  const out: ServedFile[] = [];
  for (const name of names) {
    const st = await fs.stat(path.join(dir, name));
    if (!st.isFile()) continue;
    const key = `${path.join(dir, name)} ${st.size} ${st.mtimeMs}`;
    let d = digests.get(name);
    if (d?.key !== key) {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path.join(dir, name))) hash.update(chunk as Buffer);
      d = { key, sha256: hash.digest('hex') };
      digests.set(name, d);
    }
    out.push({ name, sha256: d.sha256, size: st.size });
  }
  return out;
}

/** Handles /v1/agent/… and returns true; anything else is not its (returns false). */
export function agentDownloads(opts: AgentDownloadsOptions): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  return (req, res) => {
    const url = (req.url ?? '').split('?')[0]!;
    if (!url.startsWith(AGENT_PATH)) return false;
    void serve(opts, url.slice(AGENT_PATH.length), req, res).catch(err => {
      opts.log('agent download failed', { url, reason: describeError(err) });
      if (!res.headersSent) send(res, 500, `cannot serve ${url}: ${describeError(err)}\n`);
      else res.destroy();
    });
    return true;
  };
}

async function serve(opts: AgentDownloadsOptions, rest: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, `method ${req.method} not allowed\n`);
    return;
  }
  if (rest === 'ca.crt') {
    if (!opts.caCert) return send(res, 404, 'this coordinator runs --insecure: it has no CA\n');
    return send(res, 200, await fs.readFile(opts.caCert, 'utf8'), 'application/x-pem-file');
  }
  if (rest === 'install.sh') {
    const host = String(req.headers.host ?? '');
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) return send(res, 400, `the Host header '${host}' is not host:port\n`);
    const caFingerprint = opts.caCert ? new X509Certificate(await fs.readFile(opts.caCert)).fingerprint256 : undefined;
    const script = installScript({
      baseUrl: `${opts.caCert ? 'https' : 'http'}://${host}`, coordinator: host,
      ...(caFingerprint && { caFingerprint }), files: await servedFiles(opts.dir),
    });
    return send(res, 200, script, 'text/x-shellscript; charset=utf-8');
  }
  if (rest.startsWith('files/')) {
    const name = rest.slice('files/'.length);
    const file = (await servedFiles(opts.dir)).find(f => f.name === name);
    if (!file) return send(res, 404, `no agent file '${name}' here (the coordinator serves what is in ${opts.dir})\n`);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.size), 'x-checksum-sha256': file.sha256 });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(path.join(opts.dir, name)).on('error', () => res.destroy()).pipe(res);
    return;
  }
  send(res, 404, `not found: ${AGENT_PATH}install.sh, ${AGENT_PATH}files/<name>, ${AGENT_PATH}ca.crt\n`);
}
