/**
 * The attacker's side of test/security/ (docs/security.md): a TLS coordinator on loopback with its trust
 * roots, and raw gRPC clients that trust its CA but hold no client certificate (an unauthenticated
 * caller on the network), so an attack sends exactly the bytes it wants.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { agentClient } from '../../agent/link/transport.js';
import { loadFerryProto } from '../../proto/load.js';
import type { AgentServiceClient } from '../../proto/gen/ferry/v1/AgentService.js';
import type { ControlServiceClient } from '../../proto/gen/ferry/v1/ControlService.js';
import { type Coordinator, startAgent, startCoordinator, waitFor } from './fleet.js';
import { tempDir } from './temp.js';
import { type AsCaller, type Asserts, type TrustRoots, asCaller, enrollHost, mintToken, readTrust } from './trust.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TlsCoordinator extends TrustRoots {
  c: Coordinator;
  dir: string;
  data: string;
  /** `ferry …` as the holder of a token, trusting the CA. */
  as: AsCaller;
  /** AgentService over TLS without a client certificate (Enroll is the only call it may make). */
  agentApi(): AgentServiceClient;
  /** ControlService over TLS; `token` goes in the authorization header of every call. */
  controlApi(token?: string): ControlServiceClient;
}

/** A real `ferry-coordinator` serving TLS on 127.0.0.1:0, initialised at its first start. */
export async function tlsCoordinator(t: Teardown, args: string[] = []): Promise<TlsCoordinator> {
  const dir = await tempDir(t, 'ferry-sec-');
  const data = path.join(dir, 'data');
  const c = await startCoordinator(t, data, args, '127.0.0.1:0', { tls: true });
  const trust = await readTrust(data);
  const caPem = await fs.readFile(trust.caFile);
  const clients: grpc.Client[] = [];
  t.teardown(() => clients.forEach(cl => cl.close()));
  const keep = <T extends grpc.Client>(cl: T): T => (clients.push(cl), cl);
  return {
    ...trust, c, dir, data,
    as: asCaller(c.address, { FERRY_CA: trust.caFile }),
    agentApi: () => keep(agentClient(c.address, 'enroll', grpc.credentials.createSsl(caPem))),
    controlApi: token => {
      const creds = token
        ? grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(caPem), grpc.credentials.createFromMetadataGenerator((_p, cb) => {
          const md = new grpc.Metadata();
          md.set('authorization', `Bearer ${token}`);
          cb(null, md);
        }))
        : grpc.credentials.createSsl(caPem);
      return keep(new (loadFerryProto().ferry.v1.ControlService)(c.address, creds, { 'grpc.use_local_subchannel_pool': 1 }));
    },
  };
}

/** A unary call's outcome: its error (code, details) or its response. */
export function unary<Req, Res>(fn: (req: Req, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown, req: Req): Promise<{ err?: grpc.ServiceError; res?: Res }> {
  return new Promise(resolve => void fn(req, { deadline: Date.now() + 30_000 }, (err, res) => resolve(err ? { err } : { ...(res !== undefined && { res }) })));
}

/** The bytes ferry.db and its write-ahead log hold now. */
export async function dbBytes(data: string): Promise<number> {
  let n = 0;
  for (const f of ['ferry.db', 'ferry.db-wal']) n += await fs.stat(path.join(data, f)).then(s => s.size, () => 0);
  return n;
}

/** The audit log as stored (read beside the running coordinator, as an operator could). */
export function auditRows(data: string): { seq: number; actor: string; action: string; outcome: string; code: string; message: string; count: number }[] {
  const db = new Database(path.join(data, 'ferry.db'), { readonly: true });
  try {
    return db.prepare('SELECT seq, actor, action, outcome, code, message, count FROM audit ORDER BY seq').all() as ReturnType<typeof auditRows>;
  } finally {
    db.close();
  }
}

/**
 * Enrolled hosts granted `role=web` (a join token each), their agents running and connected, and
 * application `shop` with group `web` selecting them: what an attack on deployments needs first.
 */
export async function webFleet(t: Asserts & Teardown, s: TlsCoordinator, hostIds: string[]): Promise<void> {
  for (const id of hostIds) {
    const root = path.join(s.dir, id);
    const join = await mintToken(t, s.as, s.admin, 'agent', ['--uses', '1', '--tag', 'role=web']);
    t.equal((await enrollHost({ coordinator: s.c.address, token: join, fingerprint: s.fingerprint, rootDir: root, hostId: id })).code, 0, `${id} enrolls`);
    await startAgent(t, { coordinator: s.c.address, rootDir: root, hostId: id, tags: { role: 'web' } });
  }
  await waitFor(`${hostIds.join(', ')} to connect`, async () =>
    (await s.as(s.admin, ['hosts', 'list', '--json'])).json?.hosts?.filter((h: { id: string; connected: boolean }) => hostIds.includes(h.id) && h.connected).length === hostIds.length);
  t.equal((await s.as(s.admin, ['app', 'create', 'shop'])).code, 0, 'app shop');
  t.equal((await s.as(s.admin, ['group', 'create', '--app', 'shop', '--name', 'web', '--tag-set', 'role=web'])).code, 0, 'group web');
}
