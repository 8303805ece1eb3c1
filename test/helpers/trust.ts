/**
 * Clients of a coordinator that serves TLS: its trust roots, `ferry` as a token's holder,
 * tokens minted by the admin, and `ferry-agent enroll`. Shared by test/e2e/trust.test.ts (loopback)
 * and test/e2e/netns.test.ts (hosts in network namespaces).
 */
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type CliResult, runBin } from './agent-cli.js';
import { ferry } from './fleet.js';

export interface Asserts {
  equal(found: unknown, wanted: unknown, message: string): unknown;
}

/** What `ferry-coordinator init` (or a first TLS start) left in the data dir. */
export interface TrustRoots {
  caFile: string;
  /** The CA's SHA-256 fingerprint, as `ferry-agent enroll --ca-fingerprint` takes it. */
  fingerprint: string;
  /** The first admin token (DATA/admin.token). */
  admin: string;
}

export async function readTrust(dataDir: string): Promise<TrustRoots> {
  const caFile = path.join(dataDir, 'tls', 'ca.crt');
  const fingerprint = new X509Certificate(await fs.readFile(caFile)).fingerprint256;
  const admin = (await fs.readFile(path.join(dataDir, 'admin.token'), 'utf8')).trim();
  return { caFile, fingerprint, admin };
}

/** Runs `ferry ARGS` as the holder of a token (none: anonymous). */
export type AsCaller = (token: string | undefined, args: string[], extra?: NodeJS.ProcessEnv) => Promise<CliResult>;

/**
 * `ferry` against `address`, trusting the CA through `trustEnv` (FERRY_CA or FERRY_CA_FINGERPRINT),
 * inside `netns` when given.
 */
export function asCaller(address: string, trustEnv: NodeJS.ProcessEnv, netns?: string): AsCaller {
  return (token, args, extra = {}) =>
    ferry(address, args, { env: { ...trustEnv, ...(token && { FERRY_TOKEN: token }), ...extra }, timeoutMs: 60_000, ...(netns && { netns }) });
}

/** `ferry token create --role ROLE …` as `admin`; the token's text. */
export async function mintToken(t: Asserts, as: AsCaller, admin: string, role: string, extra: string[] = []): Promise<string> {
  const r = await as(admin, ['token', 'create', '--role', role, ...extra, '--json']);
  t.equal(r.code, 0, r.stderr);
  return r.json.token as string;
}

export interface EnrollOptions {
  coordinator: string;
  token: string;
  fingerprint: string;
  rootDir: string;
  hostId: string;
  netns?: string;
}

/** A real `ferry-agent enroll`. */
export function enrollHost(o: EnrollOptions): Promise<CliResult> {
  return runBin('ferry-agent', ['enroll', '--coordinator', o.coordinator, '--token', o.token, '--ca-fingerprint', o.fingerprint, '--root-dir', o.rootDir, '--host-id', o.hostId],
    o.netns ? { netns: o.netns } : {});
}
