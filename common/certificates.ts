/** Certificate rules both ends apply: which names a server certificate may carry, when a certificate is due for renewal. Pure. */
import net from 'node:net';
import os from 'node:os';
import { FerryError } from './errors.js';

const HOSTNAME = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

/** `--san` values → openssl subjectAltName entries; every bad one named. */
export function subjectAltNames(sans: readonly string[]): string[] {
  const bad = sans.filter(s => net.isIP(s) === 0 && !HOSTNAME.test(s));
  if (bad.length > 0) {
    throw new FerryError('INVALID_ARGUMENT', `--san ${bad.map(b => `'${b}'`).join(', ')}: not an IP address or a DNS name`);
  }
  return [...new Set(sans)].map(s => (net.isIP(s) !== 0 ? `IP:${s}` : `DNS:${s}`));
}

/** The names the server certificate always carries, before the operator's `--san`s. */
export function defaultSans(hostname = os.hostname()): string[] {
  return ['localhost', '127.0.0.1', '::1', ...(HOSTNAME.test(hostname) ? [hostname] : [])];
}

/** True when an enrolled host's certificate expires within `renewBeforeMs` of `now`. Pure. */
export function renewalDue(expiresAt: number | undefined, now: number, renewBeforeMs: number): boolean {
  return expiresAt !== undefined && expiresAt - now <= renewBeforeMs;
}
