/**
 * `ferry-agent enroll --coordinator HOST:PORT --token T --ca-fingerprint SHA256 [--root-dir DIR]`
 * (docs/trust.md): pins the coordinator's CA by fingerprint, makes the host's key here (it never leaves),
 * and stores the client certificate the coordinator signs for this host id in `<root>/tls/`.
 * `ferry-agent start` then speaks mutual TLS.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Command } from 'commander';
import type { EnrollResponse__Output } from '../../proto/gen/ferry/v1/EnrollResponse.js';
import { type AgentEnvironment, loadStartConfig } from '../config.js';
import { FerryError, describeError, isFerryError } from '../../common/errors.js';
import { type IdentityFiles, identityFiles, newKeyAndCsr, storeIdentity } from '../link/identity.js';
import { fetchPinnedCa } from '../../common/tls-pin.js';
import { agentClient } from '../link/transport.js';
import { layoutFor } from '../state/layout.js';
import { HOST_ID_FILE, defaultHostId, resolveHostId } from './host-id.js';

export function enrollCommand(): Command {
  return new Command('enroll')
    .description('enroll this host with the coordinator: get a client certificate for mutual TLS')
    .option('--coordinator <host:port[,host:port…]>', 'the coordinator; several comma-separated: the first that answers enrolls (default: $FERRY_COORDINATOR or the config file)')
    .option('--token <token>', 'a join token: ferry token create --role agent --uses 1 (default $FERRY_JOIN_TOKEN)')
    .requiredOption('--ca-fingerprint <sha256>', "the coordinator CA's SHA-256 fingerprint, as ferry-coordinator init printed it")
    .option('--root-dir <dir>', 'deployment root; the key and certificates go to <root>/tls/ (default as ferry-agent start)')
    .option('--host-id <id>', "this host's id (default: the one kept in <root>/host-id; if there is none, this machine's hostname, else a generated id)")
    .option('--config <file>', 'the agent config file (for coordinator, root-dir, host-id)')
    .addHelpText('after', `
The key is made on this host with openssl and never sent; the coordinator signs a certificate for
the host id and records it (ferry hosts revoke H makes it useless at once). Re-running enrolls again
with a new key. The token is spent (one use per enrollment) and never logged.

Examples:
  ferry-agent enroll --coordinator ferry.internal:7420 --token fy.… --ca-fingerprint 7A:35:…:68
  FERRY_JOIN_TOKEN=fy.… ferry-agent enroll --config /etc/ferry/agent.yaml --ca-fingerprint 7A:35:…:68`);
}

export async function executeEnroll(opts: Record<string, unknown>, env: AgentEnvironment, cwd: string, out: (s: string) => void): Promise<number> {
  const { token: given, caFingerprint, ...rest } = opts as { token?: string; caFingerprint: string } & Record<string, unknown>;
  const token = given ?? env.joinToken;
  if (!token) throw new FerryError('INVALID_ARGUMENT', '--token (or FERRY_JOIN_TOKEN) is required: an admin makes one with ferry token create --role agent --uses 1');
  const cfg = await loadStartConfig(rest, env, cwd);
  // Several replicas: the first that answers enrolls the host (they share the CA and the tokens).
  const last = cfg.coordinators.length - 1;
  for (const [i, coordinator] of cfg.coordinators.entries()) {
    try {
      const { hostId, files } = await enrollHost({ coordinator, token, caFingerprint, rootDir: cfg.rootDir, ...(cfg.hostId !== undefined && { hostId: cfg.hostId }) });
      out(`enrolled host ${hostId} with ${coordinator}: key and certificate in ${files.dir} (0600)\n`);
      out(`next: ferry-agent start --coordinator ${cfg.coordinators.join(',')} --root-dir ${path.resolve(cfg.rootDir)}\n`);
      break;
    } catch (err) {
      if (i === last || !isFerryError(err, 'UNAVAILABLE')) throw err;
      out(`${coordinator} did not answer (${describeError(err)}); trying ${cfg.coordinators[i + 1]}\n`);
    }
  }
  return 0;
}

export interface EnrollRequest {
  /** HOST:PORT of the coordinator. */
  coordinator: string;
  /** The join token: sent to the coordinator only, never logged or printed. */
  token: string;
  caFingerprint: string;
  rootDir: string;
  /** The id to enroll as; default the one kept in `<root>/host-id`, made now if there is none. */
  hostId?: string;
}

export interface Enrolled {
  hostId: string;
  files: IdentityFiles;
}

/**
 * Enrolls this host (`ferry-agent enroll`, and `ferry-agent install --token`): pins the CA, makes
 * the key here, gets the certificate signed. Nothing is written before the coordinator is reached
 * and its CA matches; on any later failure what this attempt created (the new key, `host-id`, the
 * directories) is removed again, and an existing enrollment stays as it was.
 */
export async function enrollHost(req: EnrollRequest): Promise<Enrolled> {
  const layout = layoutFor(req.rootDir);
  const files = identityFiles(layout.root);
  const caPem = await fetchPinnedCa(req.coordinator, req.caFingerprint);
  const created = await missingPaths([...dirAndAncestors(layout.root), path.join(layout.root, HOST_ID_FILE), files.dir]);
  try {
    // Kept in <root>/host-id, so `ferry-agent start` without --host-id claims the enrolled id.
    let defaulted = false;
    const hostId = await resolveHostId(layout.root, undefined, () => {
      if (req.hostId !== undefined) return req.hostId;
      defaulted = true;
      return defaultHostId();
    });
    if (req.hostId !== undefined && hostId !== req.hostId) {
      throw new FerryError('INVALID_ARGUMENT', `--host-id ${req.hostId}: ${layout.root}/host-id already says ${hostId}; enroll as ${hostId}, or remove that file first`);
    }
    const csrPem = await newKeyAndCsr(files, hostId);
    const res = await requestCertificate(req, hostId, csrPem, caPem).catch((err: unknown) => {
      if (!defaulted) throw err;
      throw new FerryError(isFerryError(err) ? err.code : 'UNAUTHENTICATED',
        `${(err as Error).message} (the host id ${hostId} is this machine's hostname, the default: give --host-id to enroll as another)`, { cause: err });
    });
    await storeIdentity(files, res.certificatePem, res.caPem);
    return { hostId, files };
  } catch (err) {
    await discardAttempt(files, created);
    throw err;
  }
}

function requestCertificate(req: EnrollRequest, hostId: string, csrPem: string, caPem: string): Promise<EnrollResponse__Output> {
  const client = agentClient(req.coordinator, 'enroll', grpc.credentials.createSsl(Buffer.from(caPem)));
  return new Promise<EnrollResponse__Output>((resolve, reject) => {
    client.Enroll({ token: req.token.trim(), hostId, csrPem }, { deadline: Date.now() + 30_000 }, (err, r) => {
      if (err) {
        const hint = /altnames|does not match/i.test(err.details) ? `: the coordinator's certificate does not name ${req.coordinator.replace(/:\d+$/, '')}; re-run ferry-coordinator init with --san, or connect by a name it has` : '';
        return reject(new FerryError(err.code === grpc.status.UNAVAILABLE ? 'UNAVAILABLE' : 'UNAUTHENTICATED', `enrollment refused by ${req.coordinator}: ${err.details || describeError(err)}${hint}`, { cause: err }));
      }
      resolve(r!);
    });
  }).finally(() => client.close());
}

/** `dir` and each of its parents below `/`, deepest first. */
function dirAndAncestors(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) out.push(d);
  return out;
}

async function missingPaths(paths: readonly string[]): Promise<string[]> {
  const gone = await Promise.all(paths.map(p => fs.lstat(p).then(() => false, () => true)));
  return paths.filter((_, i) => gone[i]);
}

/** Removes the half-made key and request, then what the attempt created, deepest first (directories only when empty). */
async function discardAttempt(files: IdentityFiles, created: readonly string[]): Promise<void> {
  await fs.rm(`${files.key}.new`, { force: true });
  await fs.rm(path.join(files.dir, 'agent.csr'), { force: true });
  const byDepth = [...created].sort((a, b) => b.length - a.length);
  for (const p of byDepth) {
    const st = await fs.lstat(p).catch(() => undefined);
    if (!st) continue;
    if (!st.isDirectory()) await fs.rm(p, { force: true });
    else await fs.rmdir(p).catch(() => undefined); // not empty: something else put files there meanwhile
  }
}
