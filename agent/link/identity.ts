/**
 * The host's TLS identity, kept in `<root>/tls/`: `agent.key` (generated here, 0600,
 * never sent anywhere), `agent.crt` (signed by the coordinator at enrollment) and `ca.crt` (the
 * coordinator's CA, pinned by fingerprint at enrollment). With them the agent speaks mutual TLS;
 * without them plaintext (a coordinator run --insecure).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { FerryError, describeError } from '../../common/errors.js';

export interface IdentityFiles {
  dir: string;
  key: string;
  cert: string;
  ca: string;
}

export function identityFiles(root: string): IdentityFiles {
  const dir = path.join(root, 'tls');
  return { dir, key: path.join(dir, 'agent.key'), cert: path.join(dir, 'agent.crt'), ca: path.join(dir, 'ca.crt') };
}

/** Mutual-TLS credentials when the host is enrolled; undefined (plaintext) when it is not. */
export async function loadAgentCredentials(root: string): Promise<grpc.ChannelCredentials | undefined> {
  return channelCredentials(await loadAgentIdentity(root));
}

/** gRPC channel credentials for an identity (mutual TLS); undefined for none (plaintext). */
export function channelCredentials(identity: AgentIdentity | undefined): grpc.ChannelCredentials | undefined {
  return identity && grpc.credentials.createSsl(identity.ca, identity.key, identity.cert);
}

/** The host's key, certificate and pinned CA (PEM) when it is enrolled: what revision downloads over HTTPS present. */
export interface AgentIdentity {
  ca: Buffer;
  key: Buffer;
  cert: Buffer;
}

export async function loadAgentIdentity(root: string): Promise<AgentIdentity | undefined> {
  const f = identityFiles(root);
  const present = await fs.access(f.cert).then(() => true, () => false);
  if (!present) return undefined;
  try {
    const [ca, key, cert] = await Promise.all([fs.readFile(f.ca), fs.readFile(f.key), fs.readFile(f.cert)]);
    return { ca: ca!, key: key!, cert: cert! };
  } catch (err) {
    throw new FerryError('FAILED_PRECONDITION', `${f.dir}: the enrollment files cannot be read (${describeError(err)}): enroll again with ferry-agent enroll`, { cause: err });
  }
}

function openssl(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, (err, _out, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new FerryError('TOOL_MISSING', 'ferry-agent enroll needs openssl to make the host key and its certificate request: apt-get install openssl', { cause: err }));
      }
      reject(new FerryError('INTERNAL', `openssl ${args[0]} failed: ${stderr.trim() || describeError(err)}`, { cause: err }));
    });
  });
}

/** A new EC P-256 key (0600) and a certificate request for it; returns the request's PEM. */
export async function newKeyAndCsr(f: IdentityFiles, hostId: string): Promise<string> {
  await fs.mkdir(f.dir, { recursive: true, mode: 0o700 });
  await fs.chmod(f.dir, 0o700);
  const key = `${f.key}.new`;
  const csr = path.join(f.dir, 'agent.csr');
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  await fs.chmod(key, 0o600);
  await openssl(['req', '-new', '-key', key, '-subj', `/CN=${hostId}`, '-out', csr]);
  const pem = await fs.readFile(csr, 'utf8');
  await fs.rm(csr);
  return pem;
}

/** Puts the new key, its certificate and the CA in place (each by rename, so a reader never sees half a file). */
export async function storeIdentity(f: IdentityFiles, certPem: string, caPem: string): Promise<void> {
  const write = async (file: string, text: string) => {
    await fs.writeFile(`${file}.new`, text, { mode: 0o600 });
    await fs.rename(`${file}.new`, file);
  };
  await write(f.ca, caPem);
  await fs.rename(`${f.key}.new`, f.key);
  await write(f.cert, certPem);
}
