import type { CliSecurity } from './config.js';

/**
 * The one line that installs an agent on a fresh host from this coordinator (its
 * `GET /v1/agent/install.sh`), as `ferry token create --role agent` prints it with the new token.
 * With a CA file: curl trusts it (copy it to the host). With only a fingerprint: the line fetches the
 * CA, checks its SHA-256 against the pin, then trusts it. Plaintext (--insecure): no TLS, no enrollment.
 */
export function agentInstallLine(coordinator: string, security: CliSecurity, token: string): string {
  const tail = `/v1/agent/install.sh | sudo sh -s -- --token ${token}`;
  if (!security.tls) return `curl -fsSL http://${coordinator}${tail}`;
  if (security.caFile !== undefined) return `curl -fsSL --cacert ${security.caFile} https://${coordinator}${tail}`;
  const hex = pinHex(security.caFingerprint ?? '');
  return `curl -fsSLk https://${coordinator}/v1/agent/ca.crt -o /tmp/ferry-ca.crt && [ "$(sed '/-----/d' /tmp/ferry-ca.crt | base64 -d | sha256sum | cut -c1-64)" = ${hex} ] && `
    + `curl -fsSL --cacert /tmp/ferry-ca.crt https://${coordinator}${tail}`;
}

/** `SHA256:7A:35:…` → `7a35…` (what sha256sum prints). */
export function pinHex(fingerprint: string): string {
  return fingerprint.trim().replace(/^sha256[:=]/i, '').replace(/:/g, '').toLowerCase();
}
