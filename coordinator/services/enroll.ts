/**
 * Agent enrollment: a join token (role `agent`, spent once per use) buys a client
 * certificate for one host id, signed by the coordinator's CA for a CSR whose key never left the
 * host. The certificate's subject is the host id, whatever the request asked for.
 */
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { FerryError } from '../../common/errors.js';
import { boundedText } from '../../common/text.js';
import { type Context, iso } from '../context.js';
import { signCsr } from '../security/pki.js';
import { HOST_ID } from './host-id.js';
import { parseToken, refuseToken, refusalMessage } from '../security/tokens.js';

export { HOST_ID } from './host-id.js';
const CERT_DAYS = 365;
const MAX_CSR_BYTES = 16 * 1024;

export interface EnrollInput {
  token: string;
  hostId: string;
  csrPem: string;
}

export async function enroll(ctx: Context, input: EnrollInput, peer: string): Promise<{ certificatePem: string; caPem: string }> {
  if (!ctx.tls) throw new FerryError('FAILED_PRECONDITION', 'this coordinator runs --insecure (plaintext): agents connect without enrolling');
  // The token is checked before anything else the caller sent is looked at (docs/security.md): a caller
  // without one only ever gets a refusal with a fixed text, which folds in the audit log.
  const refuse = (message: string, code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED' = 'UNAUTHENTICATED'): never => {
    ctx.log.warn('enrollment refused', { component: 'security', host_id: boundedText(input.hostId, 128), peer, reason: message });
    throw new FerryError(code, message);
  };
  let parsed: { id: string; secret: string };
  try {
    parsed = parseToken(input.token);
  } catch (err) {
    return refuse((err as Error).message);
  }
  const now = ctx.clock.now();
  const record = await ctx.store.getToken(parsed.id);
  const refusal = refuseToken(record, parsed.secret, now);
  if (refusal) return refuse(refusalMessage(refusal, parsed.id));
  if (record!.role !== 'agent') {
    return refuse(`token ${parsed.id} has role ${record!.role}; enrolling a host needs a join token: ferry token create --role agent --uses 1`, 'PERMISSION_DENIED');
  }
  if (!HOST_ID.test(input.hostId)) throw new FerryError('INVALID_ARGUMENT', `host id ${JSON.stringify(boundedText(input.hostId, 64))} is not valid (letters, digits, . _ : -; up to 128)`);
  checkCsr(input.csrPem);
  const bound = record!.hostId;
  if (bound !== null && bound !== input.hostId) {
    return refuse(`token ${parsed.id} enrolls host ${bound} only, not ${input.hostId}`, 'PERMISSION_DENIED');
  }
  // A host id is one machine's (docs/security.md): a second certificate for an enrolled id would let its
  // holder displace that host's stream. Only a token bound to the id (ferry hosts reenroll) replaces it.
  const current = await ctx.store.activeHostCertificate(input.hostId, iso(now));
  if (current && bound === null) {
    return refuse(`host ${input.hostId} is enrolled already (certificate valid until ${current.expiresAt}): to enroll it again, an admin runs ferry hosts reenroll ${input.hostId} (a join token for that host only); to free the id, ferry hosts revoke ${input.hostId}`, 'PERMISSION_DENIED');
  }
  // Spent before signing: two agents racing for a one-use token cannot both win.
  if (!await ctx.store.consumeToken(parsed.id, iso(now))) return refuse(refusalMessage('used up', parsed.id));
  const issued = await issueCertificate(ctx, input.hostId, input.csrPem, parsed.id, peer, bound === null ? 'host enrolled' : 'host enrolled again');
  // The host's tags are the token's grant (docs/security.md, "Tags"); a re-enrollment token without tags keeps the host's grant.
  if (record!.tags !== null || bound === null) await ctx.store.grantHostTags(input.hostId, record!.tags ?? {}, `join-token:${parsed.id}`, iso(now));
  if (bound !== null) {
    // Re-enrollment replaces the host's identity: its earlier certificates (and the stream one holds) end now.
    const revoked = await ctx.store.revokeHostCertificates(input.hostId, iso(now), issued.fingerprint);
    if (revoked > 0) ctx.registry.get(input.hostId)?.close('the host enrolled again');
    ctx.log.info('earlier certificates of a re-enrolled host revoked', { component: 'security', host_id: input.hostId, revoked });
  }
  // A host removed with ferry hosts remove comes back by enrolling again.
  if (await ctx.store.restoreHost(input.hostId)) ctx.log.info('removed host enrolled again: listed again', { component: 'security', host_id: input.hostId });
  return { certificatePem: issued.certificatePem, caPem: issued.caPem };
}

/**
 * Renews the certificate of an enrolled host (the caller proved it holds a current one: mutual
 * TLS, checked by the interceptor). The earlier certificate stays valid until it expires, so
 * connections made with it keep working while the agent switches over.
 */
export async function renewCertificate(ctx: Context, caller: { id: string; role: string }, csrPem: string, peer: string): Promise<{ certificatePem: string; caPem: string }> {
  if (!ctx.tls) throw new FerryError('FAILED_PRECONDITION', 'this coordinator runs --insecure (plaintext): there are no certificates to renew');
  if (caller.role !== 'agent' || !caller.id.startsWith('host:')) throw new FerryError('PERMISSION_DENIED', 'only an enrolled host renews its certificate, with mutual TLS');
  checkCsr(csrPem);
  const issued = await issueCertificate(ctx, caller.id.slice('host:'.length), csrPem, 'renewal', peer, 'host certificate renewed');
  return { certificatePem: issued.certificatePem, caPem: issued.caPem };
}

function checkCsr(csrPem: string): void {
  if (!csrPem.includes('BEGIN CERTIFICATE REQUEST') || csrPem.length > MAX_CSR_BYTES) {
    throw new FerryError('INVALID_ARGUMENT', 'csr_pem: not a PEM certificate request (BEGIN CERTIFICATE REQUEST)');
  }
}

async function issueCertificate(ctx: Context, hostId: string, csrPem: string, tokenId: string, peer: string, what: string): Promise<{ certificatePem: string; caPem: string; fingerprint: string }> {
  const tls = ctx.tls!;
  const now = ctx.clock.now();
  const certificatePem = await signCsr(tls, csrPem, 'client', [`URI:ferry:host:${hostId}`], CERT_DAYS, hostId).catch(err => {
    throw new FerryError('INVALID_ARGUMENT', `csr_pem: cannot be signed: ${(err as Error).message}`, { cause: err });
  });
  const cert = new X509Certificate(certificatePem);
  await ctx.store.addHostCertificate({
    fingerprint: cert.fingerprint256, hostId, issuedAt: iso(now), expiresAt: new Date(cert.validTo).toISOString(), tokenId, revokedAt: null,
  });
  ctx.log.info(what, { component: 'security', host_id: hostId, token_id: tokenId, peer, certificate: cert.fingerprint256, expires_at: new Date(cert.validTo).toISOString() });
  return { certificatePem, caPem: await fs.readFile(tls.caCert, 'utf8'), fingerprint: cert.fingerprint256 };
}

/** Revokes every certificate of the host and drops its stream at once. */
export async function revokeHost(ctx: Context, hostId: string, by: string): Promise<number> {
  const n = await ctx.store.revokeHostCertificates(hostId, iso(ctx.clock.now()));
  if (n === 0 && !await ctx.store.getHost(hostId)) throw new FerryError('NOT_FOUND', `host ${hostId} does not exist and has no certificate; see ferry hosts list`);
  ctx.registry.get(hostId)?.close('certificate revoked');
  ctx.log.info('host certificates revoked', { component: 'security', host_id: hostId, revoked: n, by });
  return n;
}
