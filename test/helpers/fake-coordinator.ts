import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { AgentMessage__Output as AgentMessage } from '../../proto/gen/ferry/v1/AgentMessage.js';
import type { CoordinatorMessage } from '../../proto/gen/ferry/v1/CoordinatorMessage.js';
import type { DeployCommand } from '../../proto/gen/ferry/v1/DeployCommand.js';
import type { FetchRevisionRequest__Output as FetchRequest } from '../../proto/gen/ferry/v1/FetchRevisionRequest.js';
import type { RevisionChunk } from '../../proto/gen/ferry/v1/RevisionChunk.js';
import type { SetAlarms } from '../../proto/gen/ferry/v1/SetAlarms.js';
import { SERVER_KEEPALIVE_OPTIONS, loadFerryProto } from '../../proto/load.js';
import { AGENT_BIN, REPO } from './agent-cli.js';
import { hooksFor, pack, writeBundle } from './bundle.js';

/**
 * A small real AgentService for tests: records every agent message, replies Registered, acks
 * results (unless `autoAck` is off), lets the test push commands, and serves FetchRevision from
 * byte buffers, optionally corrupted, dropped after N bytes, or stalled.
 */
export interface FetchBehavior {
  /** Flip one byte of what is served: the digest no longer matches. */
  corrupt?: boolean;
  /** End the next `drops` (default 1) FetchRevision calls with UNAVAILABLE after this many bytes. */
  dropAfterBytes?: number;
  drops?: number;
  /** Stop sending after this many bytes, leaving the call open (a stalled transfer). */
  stallAfterBytes?: number;
  chunkBytes?: number;
}

type AgentStream = grpc.ServerDuplexStream<AgentMessage, CoordinatorMessage>;
type FetchStream = grpc.ServerWritableStream<FetchRequest, RevisionChunk>;

const pause = (ms: number) => new Promise(r => setTimeout(r, ms));

export class FakeCoordinator {
  port = 0;
  readonly messages: AgentMessage[] = [];
  /** When each of `messages` arrived (Date.now()). */
  readonly receivedAt: number[] = [];
  /** Sent after every Registered, as a real coordinator sends a host's alarms (undefined: none). */
  alarms: SetAlarms | undefined;
  readonly fetches: { digest: string; offset: number; hostId: string }[] = [];
  /** Connect streams opened so far. */
  streams = 0;
  /** When set, every Register is refused with this status (a revoked host's certificate). */
  refuse: { code: grpc.status; details: string } | undefined;
  autoAck = true;
  /** Sent in Registered (0: the agent keeps its own). */
  heartbeatIntervalMs = 0;
  fetchBehavior: FetchBehavior = {};
  private readonly revisions = new Map<string, Buffer>();
  private readonly open = new Set<AgentStream>();
  private server: grpc.Server | undefined;

  static async start(port = 0): Promise<FakeCoordinator> {
    const fake = new FakeCoordinator();
    await fake.listen(port);
    return fake;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Stores a revision; returns its digest and size. */
  addRevision(bytes: Buffer): { digest: string; size: number } {
    const digest = createHash('sha256').update(bytes).digest('hex');
    this.revisions.set(digest, bytes);
    return { digest, size: bytes.length };
  }

  /** Sends to every open Connect stream (normally one). */
  send(msg: CoordinatorMessage): void {
    if (this.open.size === 0) throw new Error('no agent is connected');
    for (const call of this.open) call.write(msg);
  }

  deploy(cmd: DeployCommand): void {
    this.send({ deploy: { applicationName: 'app', groupName: 'web', groupId: 'g-web', bundleType: 'tgz', ...cmd } });
  }

  /** Sets `alarms` (sent after every Registered from now on) and sends them to the connected agent. */
  setAlarms(alarms: SetAlarms): void {
    this.alarms = alarms;
    this.send({ setAlarms: alarms });
  }

  /** Messages of one kind with their arrival times, in arrival order. */
  timed<K extends NonNullable<AgentMessage['msg']>>(kind: K): { at: number; msg: NonNullable<AgentMessage[K]> }[] {
    return this.messages.flatMap((m, i) => (m.msg === kind ? [{ at: this.receivedAt[i]!, msg: m[kind]! as NonNullable<AgentMessage[K]> }] : []));
  }

  /** Messages of one kind, in arrival order. */
  of<K extends NonNullable<AgentMessage['msg']>>(kind: K): NonNullable<AgentMessage[K]>[] {
    return this.messages.filter(m => m.msg === kind).map(m => m[kind]!) as NonNullable<AgentMessage[K]>[];
  }

  /** Polls until `pred` returns a value (bounded; no sleeps as waits). */
  async waitFor<T>(what: string, pred: () => T | undefined | false | null, ms = 30_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = pred();
      if (v !== undefined && v !== false && v !== null) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await pause(25);
    }
  }

  /** Ends every open Connect stream with UNAVAILABLE (the server keeps running). */
  dropStreams(): void {
    for (const call of this.open) call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'dropped by the test' });
    this.open.clear();
  }

  async stop(): Promise<void> {
    this.open.clear();
    this.server?.forceShutdown();
    this.server = undefined;
  }

  /** Stops and listens again on the same port (a coordinator restart). */
  async restart(): Promise<void> {
    const port = this.port;
    await this.stop();
    await this.listen(port);
  }

  private async listen(port: number): Promise<void> {
    const server = new grpc.Server(SERVER_KEEPALIVE_OPTIONS);
    server.addService(loadFerryProto().ferry.v1.AgentService.service, {
      Connect: (call: AgentStream) => this.connect(call),
      FetchRevision: (call: FetchStream) => void this.fetch(call),
    });
    for (let tries = 0; ; tries++) {
      try {
        this.port = await new Promise<number>((resolve, reject) =>
          server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
        break;
      } catch (err) {
        if (tries >= 20) throw err;
        await pause(100); // the previous listener on this port is still closing
      }
    }
    this.server = server;
  }

  private connect(call: AgentStream): void {
    this.streams += 1;
    this.open.add(call);
    call.on('data', (m: AgentMessage) => {
      this.messages.push(m);
      this.receivedAt.push(Date.now());
      if (m.msg === 'register' && this.refuse) {
        call.emit('error', { ...this.refuse });
        return;
      }
      if (m.msg === 'register') {
        call.write({ registered: { hostId: m.register!.hostId, heartbeatIntervalMs: this.heartbeatIntervalMs } });
        if (this.alarms) call.write({ setAlarms: this.alarms });
      } else if (m.msg === 'result' && this.autoAck) {
        call.write({ ack: { deploymentId: m.result!.deploymentId } });
      }
    });
    call.on('end', () => {
      this.open.delete(call);
      call.end();
    });
    call.on('error', () => this.open.delete(call));
    call.on('cancelled', () => this.open.delete(call));
  }

  private async fetch(call: FetchStream): Promise<void> {
    const { digest, offset, hostId } = call.request;
    this.fetches.push({ digest, offset: Number(offset), hostId });
    const stored = this.revisions.get(digest);
    if (!stored) return void call.emit('error', { code: grpc.status.NOT_FOUND, details: `no revision ${digest}` });
    const b = this.fetchBehavior;
    const bytes = b.corrupt ? Buffer.from(stored) : stored;
    if (b.corrupt) bytes.writeUInt8(bytes.readUInt8(bytes.length >> 1) ^ 0xff, bytes.length >> 1);
    let drop: number | undefined;
    if (b.dropAfterBytes !== undefined && (b.drops ?? 1) > 0) {
      drop = b.dropAfterBytes;
      b.drops = (b.drops ?? 1) - 1;
    }
    const chunk = b.chunkBytes ?? 64 * 1024;
    let pos = Number(offset);
    let sent = 0;
    while (pos < bytes.length) {
      if (call.cancelled) return;
      if (drop !== undefined && sent >= drop) {
        await pause(100); // let the agent write what it got before the error arrives
        return void call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'transfer dropped by the test' });
      }
      if (b.stallAfterBytes !== undefined && sent >= b.stallAfterBytes) return; // never ends
      const end = Math.min(bytes.length, pos + chunk);
      const ok = call.write({ data: bytes.subarray(pos, end), offset: pos, totalSize: bytes.length });
      sent += end - pos;
      pos = end;
      if (!ok) await once(call, 'drain');
    }
    call.end();
  }
}

// ---------------------------------------------------------------------------------------------
// The agent daemon under test: `bin/ferry-agent start` as a real process.

export interface Daemon {
  child: ChildProcess;
  pid: number;
  /** Everything the daemon wrote on stderr so far (its readable log). */
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * Starts `ferry-agent start --coordinator <fake> --root-dir <root> …` (no --coordinator when `env`
 * sets FERRY_COORDINATOR), killed when the test ends.
 */
export function startDaemon(t: Teardown, fake: FakeCoordinator, root: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Daemon {
  const coordinator = env.FERRY_COORDINATOR ? [] : ['--coordinator', fake.address];
  const child = spawn(process.execPath, [AGENT_BIN, 'start', ...coordinator, '--root-dir', root, ...extra], {
    cwd: REPO, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve =>
    child.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  return { child, pid: child.pid!, stderr: () => stderr, exited, kill: sig => void child.kill(sig) };
}

// ---------------------------------------------------------------------------------------------
// Revisions for the fake to serve: a real tgz made with GNU tar from a bundle description.

export interface RevisionSpec {
  /** Hook scripts by event (bash bodies; see helpers/bundle.ts). */
  hooks?: Record<string, string>;
  /** Files under `app/`, installed to `installTo`. */
  files?: Record<string, string | Buffer>;
  installTo?: string;
  timeoutSeconds?: number;
}

export async function buildRevision(dir: string, spec: RevisionSpec): Promise<Buffer> {
  const events = Object.keys(spec.hooks ?? {});
  const src = path.join(dir, 'src');
  await writeBundle(src, {
    appspec: {
      version: 0.0, os: 'linux', hooks: hooksFor(events, spec.timeoutSeconds ?? 60),
      ...(spec.installTo && { files: [{ source: 'app', destination: spec.installTo }] }),
    },
    scripts: Object.fromEntries(events.map(e => [`scripts/${e}.sh`, spec.hooks![e]!])),
  });
  for (const [name, content] of Object.entries(spec.files ?? {})) {
    await fs.mkdir(path.dirname(path.join(src, 'app', name)), { recursive: true });
    await fs.writeFile(path.join(src, 'app', name), content);
  }
  const out = path.join(dir, 'revision.tgz');
  pack(src, out, 'tgz');
  return fs.readFile(out);
}
