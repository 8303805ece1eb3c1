/**
 * Where webhooks may go (docs/security.md, "Webhooks"): the coordinator POSTs from inside the
 * network, so an admin's trigger URL could otherwise reach what only the coordinator can — the
 * cloud metadata service (169.254.169.254), its own port, a database on 127.0.0.1 — and the last
 * error would map those services for whoever reads it. Loopback, link-local and private addresses
 * (and the unspecified ones, which reach the machine itself) are refused unless the coordinator's
 * `webhook-allow` setting allows them: a class (`loopback`, `link-local`, `private`), a CIDR or an
 * address. Checked when a trigger is set (an address in the URL) and on every delivery (each
 * address a name resolves to, as the connection is made, so DNS cannot swap in another).
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { FerryError } from '../../common/errors.js';

export const ADDRESS_CLASSES = ['loopback', 'link-local', 'private'] as const;
export type AddressClass = (typeof ADDRESS_CLASSES)[number];

function blockList(v4: [string, number][], v6: [string, number][]): net.BlockList {
  const list = new net.BlockList();
  for (const [a, p] of v4) list.addSubnet(a, p, 'ipv4');
  for (const [a, p] of v6) list.addSubnet(a, p, 'ipv6');
  return list;
}

const CLASSES: Record<AddressClass, net.BlockList> = {
  loopback: blockList([['127.0.0.0', 8], ['0.0.0.0', 8]], [['::1', 128], ['::', 128]]),
  'link-local': blockList([['169.254.0.0', 16]], [['fe80::', 10]]),
  private: blockList([['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10]], [['fc00::', 7]]),
};

/** What `webhook-allow` lets through besides public addresses. */
export interface WebhookAllow {
  classes: ReadonlySet<AddressClass>;
  nets: net.BlockList;
  /** As configured, for messages. */
  text: string;
}

export const ALLOW_NOTHING: WebhookAllow = { classes: new Set(), nets: new net.BlockList(), text: '' };

/** `::ffff:10.0.0.1` is 10.0.0.1; brackets of a URL's IPv6 host are dropped. */
function normalise(address: string): { address: string; type: 'ipv4' | 'ipv6' } | undefined {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return { address: mapped[1]!, type: 'ipv4' };
  const v = net.isIP(bare);
  return v === 4 ? { address: bare, type: 'ipv4' } : v === 6 ? { address: bare, type: 'ipv6' } : undefined;
}

/** Parses `webhook-allow`: comma-separated classes, CIDRs and addresses; every problem named. */
export function parseWebhookAllow(name: string, raw: string): WebhookAllow {
  const classes = new Set<AddressClass>();
  const nets = new net.BlockList();
  const problems: string[] = [];
  for (const item of raw.split(',').map(s => s.trim()).filter(Boolean)) {
    if ((ADDRESS_CLASSES as readonly string[]).includes(item)) {
      classes.add(item as AddressClass);
      continue;
    }
    const [addr = '', prefix, extra] = item.split('/');
    const ip = normalise(addr);
    const bits = prefix === undefined ? (ip?.type === 'ipv4' ? 32 : 128) : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!ip || extra !== undefined || !(bits >= 0 && bits <= (ip.type === 'ipv4' ? 32 : 128))) {
      problems.push(`'${item}' is not ${ADDRESS_CLASSES.join(', ')}, an address or a CIDR (10.1.0.0/16)`);
      continue;
    }
    nets.addSubnet(ip.address, bits, ip.type);
  }
  if (problems.length > 0) throw new FerryError('INVALID_ARGUMENT', `${name}: ${problems.join('; ')}`);
  return { classes, nets, text: raw };
}

/** Why a webhook may not go to `address`, or undefined when it may (a public address, or one allowed). */
export function refusedAddress(address: string, allow: WebhookAllow): string | undefined {
  const ip = normalise(address);
  if (!ip) return undefined;
  const cls = ADDRESS_CLASSES.find(c => CLASSES[c].check(ip.address, ip.type));
  if (!cls || allow.classes.has(cls) || allow.nets.check(ip.address, ip.type)) return undefined;
  return `${ip.address} is a ${cls} address: webhooks go only to public addresses unless the coordinator's webhook-allow setting allows it (e.g. webhook-allow: ${cls} or ${ip.address})`;
}

/** At SetTrigger: a URL whose host is an address (or localhost) that is not allowed. */
export function refusedUrl(url: string, allow: WebhookAllow): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined; // the URL's own checks (common/triggers.ts) report it
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return refusedAddress('127.0.0.1', allow);
  return refusedAddress(host, allow);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** dns.lookup that fails when any address of the name is refused: the check happens as the socket connects. */
export function guardedLookup(allow: WebhookAllow): net.LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { ...options }, ((err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => {
      if (err) return callback(err, address, family);
      const all = Array.isArray(address) ? address : [{ address, family: family ?? 4 }];
      for (const a of all) {
        const why = refusedAddress(a.address, allow);
        if (why) return callback(Object.assign(new Error(`${hostname} resolves to ${why}`), { code: 'EDESTINATION' }), address, family);
      }
      callback(null, address, family);
    }) as LookupCallback);
  }) as unknown as net.LookupFunction;
}

/**
 * The webhook POST as the worker makes it (`fetch`'s shape, only what the worker uses), over
 * node:http(s) so every address a name resolves to is checked as the connection is made. Only the
 * status is read; the body is discarded; redirects are never followed.
 */
export function guardedFetch(allow: WebhookAllow): typeof fetch {
  return (async (input: string | URL, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const literal = refusedAddress(url.hostname, allow);
    if (literal) throw Object.assign(new Error(literal), { code: 'EDESTINATION' });
    const status = await new Promise<number>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(url, {
        method: init.method ?? 'POST', headers: init.headers as Record<string, string>, lookup: guardedLookup(allow), agent: false,
        ...(init.signal && { signal: init.signal }),
      }, res => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      });
      // A timeout or shutdown aborts with the signal's reason (TimeoutError), as fetch does.
      req.on('error', err => reject(init.signal?.aborted ? init.signal.reason : err));
      req.end(init.body === undefined || init.body === null ? undefined : String(init.body as string));
    });
    return { status, arrayBuffer: async () => new ArrayBuffer(0) } as unknown as Response;
  }) as typeof fetch;
}
