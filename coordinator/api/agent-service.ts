import type * as grpc from '@grpc/grpc-js';
import { FerryError, describeError } from '../../common/errors.js';
import type { AgentSession } from '../agents/registry.js';
import { sendAlarms } from '../services/alarms.js';
import { reconcileRegisteredHost } from '../services/dispatch.js';
import type { Context } from '../context.js';
import { eventUpdate, heartbeat, hostDisconnected, hostResult, logBatch, registerHost } from '../services/agents.js';
import { observeFleet } from '../services/pace.js';
import type { AgentMessage__Output } from '../../proto/gen/ferry/v1/AgentMessage.js';
import type { Heartbeat__Output } from '../../proto/gen/ferry/v1/Heartbeat.js';
import type { AgentServiceHandlers } from '../../proto/gen/ferry/v1/AgentService.js';
import type { CoordinatorMessage } from '../../proto/gen/ferry/v1/CoordinatorMessage.js';
import type { FetchRevisionRequest__Output } from '../../proto/gen/ferry/v1/FetchRevisionRequest.js';
import type { RevisionChunk } from '../../proto/gen/ferry/v1/RevisionChunk.js';
import { failStream, toServiceError } from './errors.js';
import { resetStream } from './stream.js';
import { DEFAULT_STALL_TIMEOUT_MS, pumpChunks } from '../revisions/download-pump.js';
import { HOST_ID, enroll, renewCertificate } from '../services/enroll.js';
import { callerOf } from '../security/auth.js';
import { authorizeRevisionDownload } from '../security/revision-access.js';
import { admitClaimedTags, formatTags, notGrantedMessage } from '../services/host-tags.js';
import type { AuditEntry } from '../domain/audit.js';
import { AgentInbox } from './agent-inbox.js';


/** AgentService: the agents' Connect streams and revision downloads. */
export function agentService(ctx: Context, audit: (entry: AuditEntry) => void = () => undefined): AgentServiceHandlers {
  const inbox = new AgentInbox(ctx);
  return {
    Connect: call => connect(ctx, call, audit, inbox),
    FetchRevision: call => void fetchRevision(ctx, call),
    Enroll: (call, callback) => void enroll(ctx, call.request, call.getPeer()).then(r => callback(null, r), err => callback(toServiceError(err))),
    RenewCertificate: (call, callback) => void renewCertificate(ctx, callerOf(call.metadata), call.request.csrPem, call.getPeer())
      .then(r => callback(null, r), err => callback(toServiceError(err))),
  };
}

/**
 * A host removed with ferry hosts remove: with TLS its certificates were revoked, so it comes back
 * only by enrolling again (which lists it again); --insecure has no enrollment, so it is listed again.
 */
async function refuseRemoved(ctx: Context, hostId: string): Promise<void> {
  const removedAt = await ctx.store.hostRemovedAt(hostId);
  if (!removedAt) return;
  if (ctx.tls) {
    throw new FerryError('PERMISSION_DENIED', `host ${hostId} was removed (ferry hosts remove) at ${removedAt}: enroll it again with a join token (ferry-agent enroll)`);
  }
  await ctx.store.restoreHost(hostId);
  ctx.log.warn('removed host connected again (--insecure: no enrollment): listed again', { component: 'agents', host_id: hostId });
}

/**
 * Messages queued for an agent that does not read them, at most: past this its stream is reset
 * (an agent reads every command; one that stops would make the coordinator queue without end).
 */
const AGENT_QUEUE = 256;

function connect(ctx: Context, call: grpc.ServerDuplexStream<AgentMessage__Output, CoordinatorMessage>, audit: (entry: AuditEntry) => void, inbox: AgentInbox): void {
  let session: AgentSession | undefined;
  const write = (m: CoordinatorMessage): boolean => {
    if (call.destroyed || call.writableEnded) return false;
    if (call.writableLength >= AGENT_QUEUE) {
      ctx.log.warn('agent is not reading its stream: reset', { component: 'agents', host_id: session?.hostId, queued: call.writableLength });
      resetStream(call);
      void closed(); // logs its own errors
      return false;
    }
    call.write(m);
    return true;
  };
  const fail = (err: unknown) => {
    ctx.log.warn('agent stream rejected', { component: 'agents', error: describeError(err), host_id: session?.hostId });
    failStream(call, err);
  };
  // One message at a time, in the order the agent sent them (its events before its result, its
  // last result before its disconnect): each waits for the store calls of the one before.
  let queue = Promise.resolve();
  let queued = 0;
  const inOrder = (work: () => Promise<void>) => {
    queued++;
    queue = queue.then(work).then(() => void queued--);
  };
  // A heartbeat marks memory only (services/agents.ts heartbeat): taken at once when nothing of this
  // stream waits before it, without the queue's two promises (each through AsyncLocalStorage's hooks);
  // this handler was 16 % of an idle 10,000-host coordinator's busy time.
  const beat = (hostId: string, hb: Heartbeat__Output): void => {
    ctx.registry.markHeard(hostId, ctx.monotonic());
    heartbeat(ctx, hostId, hb.alarms);
  };
  const handle = async (msg: AgentMessage__Output): Promise<void> => {
    try {
      if (msg.register) {
        const r = msg.register;
        if (!HOST_ID.test(r.hostId)) throw new FerryError('INVALID_ARGUMENT', `host id '${r.hostId}' is not valid`);
        if (session && session.hostId !== r.hostId) throw new FerryError('INVALID_ARGUMENT', 'a stream registers one host');
        const caller = callerOf(call.metadata);
        if (caller.role === 'agent' && caller.id !== `host:${r.hostId}`) {
          throw new FerryError('PERMISSION_DENIED', `this certificate belongs to ${caller.id.slice(5)}, not to host ${r.hostId}: each host connects with its own (ferry-agent enroll)`);
        }
        await refuseRemoved(ctx, r.hostId);
        if (!session) {
          const s: AgentSession = {
            hostId: r.hostId,
            connectedAt: ctx.clock.now(),
            acksCommands: r.acksCommands,
            send: write,
            close: reason => {
              ctx.log.info('closing agent stream', { component: 'agents', host_id: r.hostId, reason });
              call.end();
            },
          };
          session = s;
          ctx.registry.add(s);
        }
        ctx.registry.markHeard(r.hostId, ctx.monotonic());
        const admitted = await admitClaimedTags(ctx, r.hostId, r.tags ?? {}, caller.role === 'agent');
        if (Object.keys(admitted.ignored).length > 0) auditIgnoredTags(ctx, audit, call.getPeer(), r.hostId, admitted.ignored);
        await registerHost(ctx, {
          id: r.hostId, hostname: r.hostname || r.hostId, tags: admitted.tags, agentVersion: r.agentVersion,
          ...(r.zone && { zone: r.zone }),
          facts: {
            ...(r.facts?.os && { os: r.facts.os }), ...(r.facts?.kernel && { kernel: r.facts.kernel }),
            ...(r.facts?.arch && { arch: r.facts.arch }), ...(r.facts?.cpus && { cpus: r.facts.cpus }),
            ...(r.facts?.memoryBytes && { memoryBytes: Number(r.facts.memoryBytes) }),
            ...(r.facts?.diskTotalBytes && { diskTotalBytes: Number(r.facts.diskTotalBytes) }),
            ...(r.facts?.diskFreeBytes && { diskFreeBytes: Number(r.facts.diskFreeBytes) }),
          },
        });
        write({ registered: { hostId: r.hostId, heartbeatIntervalMs: ctx.pace.intervalMs, ignoredTags: admitted.ignored } });
        // A fleet grown past the heartbeat rate: every agent here (this one too) is told a longer interval.
        observeFleet(ctx, ctx.registry.fleetSize());
        ctx.upgrades?.registered(r.hostId, r.agentVersion);
        // For the other replicas: an upgrade may wait there, and the scheduling one judges this host by this replica's presence.
        ctx.changes.share('registered', { hostId: r.hostId, version: r.agentVersion, replica: ctx.replicaId });
        await sendAlarms(ctx, r.hostId);
        await reconcileRegisteredHost(ctx, r.hostId, r.runningDeploymentId || undefined);
        return;
      }
      if (!session) throw new FerryError('FAILED_PRECONDITION', 'the first message on Connect must be register');
      const hostId = session.hostId;
      if (msg.heartbeat) return beat(hostId, msg.heartbeat);
      ctx.registry.markHeard(hostId, ctx.monotonic());
      // A command's ack, or any report on its deployment (which says as much).
      const about = msg.commandAck?.deploymentId ?? msg.event?.deploymentId ?? msg.logs?.deploymentId ?? msg.result?.deploymentId;
      if (about) ctx.registry.commandAcked(hostId, about);
      if (msg.upgrade) {
        ctx.log.info('agent upgrade answer', { component: 'agent-upgrade', host_id: hostId, status: msg.upgrade.status, reason: msg.upgrade.message });
        ctx.upgrades?.answered(hostId, msg.upgrade);
        ctx.changes.share('upgrade-answer', { hostId, answer: { upgradeId: msg.upgrade.upgradeId, status: msg.upgrade.status, message: msg.upgrade.message } });
      }
      // Reports are written with the others of this tick, in one transaction (agent-inbox.ts).
      else if (msg.event) {
        const e = msg.event;
        inbox.push(() => eventUpdate(ctx, hostId, e), fail);
      } else if (msg.logs) {
        const l = msg.logs;
        inbox.push(() => logBatch(ctx, hostId, l), fail);
      } else if (msg.result) {
        const r = msg.result;
        inbox.push(async () => {
          if (!await hostResult(ctx, hostId, r)) return;
          return () => void write({ ack: { deploymentId: r.deploymentId } });
        }, fail, { alone: true });
      }
    } catch (err) {
      fail(err);
    }
  };
  call.on('data', (msg: AgentMessage__Output) => {
    if (msg.heartbeat && session && queued === 0) {
      try {
        beat(session.hostId, msg.heartbeat);
      } catch (err) {
        fail(err);
      }
      return;
    }
    inOrder(() => handle(msg));
  });
  const closed = async () => {
    try {
      if (session && ctx.registry.remove(session)) await hostDisconnected(ctx, session.hostId);
    } catch (err) {
      // A stream's end must never take the coordinator down (a full disk here crashed it).
      ctx.log.error('recording an agent disconnect failed', { component: 'agents', host_id: session?.hostId, error: describeError(err) });
    }
  };
  call.on('end', () => inOrder(async () => {
    await closed();
    call.end();
  }));
  call.on('error', () => inOrder(closed));
  call.on('close', () => inOrder(closed));
  call.on('cancelled', () => inOrder(closed));
}

/** A Register whose tags were not all granted: the extra ones were ignored, and that is audited. */
function auditIgnoredTags(ctx: Context, audit: (entry: AuditEntry) => void, peer: string, hostId: string, ignored: Record<string, string>): void {
  audit({
    at: new Date(ctx.clock.now()).toISOString(), actor: `host:${hostId}`, role: 'agent', action: 'AgentService/Connect', peer,
    outcome: 'refused', code: 'TAGS_NOT_GRANTED', message: notGrantedMessage(hostId, ignored), target: { hostId, ignoredTags: formatTags(ignored) },
  });
}

async function fetchRevision(ctx: Context, call: grpc.ServerWritableStream<FetchRevisionRequest__Output, RevisionChunk>): Promise<void> {
  let opened: Awaited<ReturnType<Context['revisions']['openChunks']>> | undefined;
  let release = () => undefined as void;
  try {
    const { digest } = call.request;
    const offset = Number(call.request.offset) || 0;
    const caller = callerOf(call.metadata);
    if (caller.role === 'agent') await authorizeRevisionDownload(ctx.store, caller.id.replace(/^host:/, ''), digest);
    if (!await ctx.store.findRevisionByDigest(digest)) throw new FerryError('NOT_FOUND', `revision ${digest} is not known to the coordinator`);
    const total = await ctx.revisions.size(digest);
    if (offset > total) throw new FerryError('INVALID_ARGUMENT', `offset ${offset} is past the end of revision ${digest} (${total} bytes)`);
    // Each host its share of the send buffers (docs/security.md): with --insecure the host's own word.
    const host = caller.role === 'agent' ? caller.id.replace(/^host:/, '') : call.request.hostId || call.getPeer();
    release = ctx.downloads?.perHost.acquire(host) ?? release;
    // Held until the call is over, not just until the last chunk is read: the last writes may still wait for the client.
    for (const event of ['finish', 'close', 'cancelled']) call.once(event, release);
    ctx.log.debug('revision fetch', { component: 'revisions', revision: digest, host_id: call.request.hostId, offset, bytes: total - offset });
    opened = await ctx.revisions.openChunks(digest, offset);
    const { reader } = opened;
    let cancelled = false;
    call.on('cancelled', () => {
      cancelled = true;
      reader.abandon();
    });
    // Back-pressure: a chunk's buffer comes back only once grpc-js has written it to the HTTP/2
    // stream, and the reader holds at most a few, so a slow client stops the reading; a client that
    // takes nothing for the stall timeout is reset (download-pump.ts).
    await pumpChunks(reader, (chunk, done) => call.write(chunk, done), {
      stallTimeoutMs: ctx.downloads?.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      cut: () => {
        cancelled = true;
        ctx.log.warn('revision download stalled: reset', { component: 'revisions', revision: digest, host_id: host, transport: 'grpc' });
        resetStream(call);
        release();
      },
      served: bytes => ctx.metrics.revisionBytesServed(bytes),
    });
    if (!cancelled) call.end();
  } catch (err) {
    release();
    failStream(call, err);
  } finally {
    await opened?.close().catch(() => undefined);
  }
}
