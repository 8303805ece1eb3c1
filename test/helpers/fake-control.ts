import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadFerryProto } from '../../proto/load.js';
import type { ControlServiceHandlers } from '../../proto/gen/ferry/v1/ControlService.js';
import type { Deployment__Output } from '../../proto/gen/ferry/v1/Deployment.js';
import type { DeploymentConfig__Output } from '../../proto/gen/ferry/v1/DeploymentConfig.js';
import type { DeploymentDetail__Output } from '../../proto/gen/ferry/v1/DeploymentDetail.js';
import type { DeploymentPlan__Output } from '../../proto/gen/ferry/v1/DeploymentPlan.js';
import type { DeploymentGroup__Output } from '../../proto/gen/ferry/v1/DeploymentGroup.js';
import type { HostDeployment__Output } from '../../proto/gen/ferry/v1/HostDeployment.js';
import type { HostInfo__Output } from '../../proto/gen/ferry/v1/HostInfo.js';
import type { LifecycleEvent__Output } from '../../proto/gen/ferry/v1/LifecycleEvent.js';
import type { AuditRecord__Output } from '../../proto/gen/ferry/v1/AuditRecord.js';
import type { Event__Output } from '../../proto/gen/ferry/v1/Event.js';
import type { LogEntry__Output } from '../../proto/gen/ferry/v1/LogEntry.js';
import type { RevisionHeader__Output } from '../../proto/gen/ferry/v1/RevisionHeader.js';
import type { UploadRevisionResponse } from '../../proto/gen/ferry/v1/UploadRevisionResponse.js';
import type { Revision__Output } from '../../proto/gen/ferry/v1/Revision.js';
import type { Schedule__Output } from '../../proto/gen/ferry/v1/Schedule.js';

/**
 * A fake ControlService for CLI tests: a real grpc-js server on port 0 with canned answers that
 * records every request. It stands in for the coordinator behind our own public API only; the
 * coordinator's real end-to-end tests run the real thing.
 */

export const T0 = '2025-01-01T12:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();
export const DIGEST = 'ab'.repeat(32);

// Test data builders (docs/design/style.md §14): full __Output shapes, every field defaulted.

export function lifecycleEvent(o: Partial<LifecycleEvent__Output> = {}): LifecycleEvent__Output {
  return { name: 'Install', status: 'Succeeded', errorCode: '', exitCode: 0, message: '', startedAt: at(1), endedAt: at(2), durationMs: 1000, ...o };
}

export function hostDeployment(o: Partial<HostDeployment__Output> = {}): HostDeployment__Output {
  return {
    hostId: 'h-1', hostname: 'web-1', status: 'Pending', currentEvent: '', errorCode: '', errorMessage: '',
    startedAt: '', completedAt: '', events: [], zone: '', ...o,
  };
}

export function deployment(o: Partial<Deployment__Output> = {}): Deployment__Output {
  return {
    id: 'd-TEST1', application: 'shop', groupName: 'web', groupId: 'g-1', revision: DIGEST, configName: 'OneAtATime',
    status: 'Created', creator: 'user', createdBy: '', description: '', fileExistsBehavior: 'DISALLOW', ignoreApplicationStopFailures: false,
    minHealthyHosts: 0, errorCode: '', errorMessage: '', createdAt: T0, startedAt: '', completedAt: '',
    rollbackOf: '', rolledBackBy: '', autoRollback: [], pauseReason: '', approveAfter: -1, awaitingApproval: false, pauseKind: '',
    ignoreAlarms: false, minHealthyTimeMs: 0, approveAfterZones: 0, waitReason: '', nextWindowAt: '', ignoreWindow: false, scheduleId: '', requireAllHosts: false, ...o,
  };
}

export function detail(d: Partial<Deployment__Output> = {}, hosts: HostDeployment__Output[] = []): DeploymentDetail__Output {
  const count = (s: string) => hosts.filter(h => h.status === s).length;
  return {
    deployment: deployment(d),
    hosts,
    offlineHosts: hosts.filter(h => h.status === 'Skipped' && h.errorCode === 'AGENT_OFFLINE').map(h => h.hostId),
    hostsTotal: hosts.length,
    nextHostAfter: '',
    overview: {
      pending: count('Pending'), inProgress: count('InProgress'), succeeded: count('Succeeded'),
      failed: count('Failed'), skipped: count('Skipped'), unknown: count('Unknown'),
    },
  };
}

/** A page of a detail's hosts, as GetDeployment's host_limit/host_after cut it. */
function page(d: DeploymentDetail__Output, limit: number, after: string): DeploymentDetail__Output {
  if (!limit) return d;
  const from = after ? d.hosts.findIndex(h => h.hostId === after) + 1 : 0;
  const hosts = d.hosts.slice(from, from + limit);
  return { ...d, hosts, hostsTotal: d.hosts.length, nextHostAfter: from + limit < d.hosts.length ? hosts[hosts.length - 1]!.hostId : '' };
}

export function hostInfo(o: Partial<HostInfo__Output> = {}): HostInfo__Output {
  return {
    id: 'h-1', hostname: 'web-1', tags: { role: 'web' }, zone: 'a', agentVersion: '0.1.0', connected: true,
    lastSeenAt: T0, registeredAt: T0, facts: null, revisions: [], state: 'connected', latestAgentVersion: '', agentOutOfDate: false, grantedTags: {}, ignoredTags: {}, tagsGranted: false, alarms: [], ...o,
  };
}

export function group(o: Partial<DeploymentGroup__Output> = {}): DeploymentGroup__Output {
  return {
    id: 'g-1', application: 'shop', name: 'web', configName: 'OneAtATime', createdAt: T0,
    tagSets: [{ filters: [{ key: 'role', value: 'web', hasKey: true, hasValue: true }] }],
    matchingHostIds: [], lastSuccessfulDeploymentId: '', lastSuccessfulRevision: '', autoRollback: [], alarms: [], rollbackConfig: '', triggers: [],
    windows: [], windowOpen: false, windowClosesAt: '', nextWindowAt: '', ...o,
  };
}

export function schedule(o: Partial<Schedule__Output> = {}): Schedule__Output {
  return {
    id: 's-TEST1', application: 'shop', group: 'web', revision: 'latest', at: '', cron: '0 2 * * *', timezone: 'UTC', state: 'Active',
    nextRunAt: at(3600), lastRunAt: '', lastDeploymentId: '', lastError: '', createdBy: 'me@host', createdAt: T0, deployment: null, ...o,
  };
}

export const BUILT_IN_CONFIGS: DeploymentConfig__Output[] = [
  { name: 'OneAtATime', minimumHealthy: { type: 'ONE_AT_A_TIME', value: 0 }, builtIn: true, createdAt: '', zonal: null },
  { name: 'HalfAtATime', minimumHealthy: { type: 'FLEET_PERCENT', value: 50 }, builtIn: true, createdAt: '', zonal: null },
  { name: 'AllAtOnce', minimumHealthy: { type: 'HOST_COUNT', value: 0 }, builtIn: true, createdAt: '', zonal: null },
];

export interface RecordedCall {
  method: string;
  request: any;
}

export interface Upload {
  header: RevisionHeader__Output | null;
  bytes: Buffer;
  chunkSizes: number[];
}

/** A WatchDeployment step: a message, sent after `delayMs`. */
export interface WatchStep {
  detail: DeploymentDetail__Output;
  delayMs?: number;
}

type Canned = { code: grpc.status; details: string };

export class FakeControl {
  address = '';
  readonly calls: RecordedCall[] = [];
  readonly uploads: Upload[] = [];
  /** Make a method fail with this status. */
  readonly failures = new Map<string, Canned>();
  // Canned state; tests change what they need.
  configs: DeploymentConfig__Output[] = [...BUILT_IN_CONFIGS];
  groups: DeploymentGroup__Output[] = [group()];
  hosts: HostInfo__Output[] = [hostInfo()];
  /** What UpgradeHosts answers. */
  upgrade: { status: string; hosts: Record<string, unknown>[] } = { status: 'Succeeded', hosts: [] };
  revisions: Revision__Output[] = [];
  deployment: DeploymentDetail__Output = detail();
  watch: WatchStep[] = [];
  /** WatchDeployment steps for one deployment id (e.g. a rollback's), instead of `watch`. */
  watchById = new Map<string, WatchStep[]>();
  /** Keep WatchDeployment open after its steps (to test --timeout). */
  watchHold = false;
  logs: LogEntry__Output[] = [];
  /** What StreamEvents sends (those after since_seq, of the application asked for). */
  events: Event__Output[] = [];
  /** What StreamAudit sends (those after since_seq). */
  audit: AuditRecord__Output[] = [];
  /** Answer of PlanDeployment and GetDeploymentPlan (NOT_FOUND when unset). */
  plan: DeploymentPlan__Output | undefined;
  schedules: Schedule__Output[] = [schedule()];
  private readonly server = new grpc.Server();
  private readonly storedDigests = new Set<string>();

  requests(method: string): any[] {
    return this.calls.filter(c => c.method === method).map(c => c.request);
  }

  fail(method: string, code: grpc.status, details: string): void {
    this.failures.set(method, { code, details });
  }

  async start(): Promise<void> {
    this.server.addService(loadFerryProto().ferry.v1.ControlService.service, this.handlers());
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.address = `127.0.0.1:${port}`;
  }

  close(): void {
    this.server.forceShutdown();
  }

  /** Records the call; answers with the canned failure, if any. */
  private enter(method: string, request: unknown): Canned | undefined {
    this.calls.push({ method, request });
    return this.failures.get(method);
  }

  private unary<Req, Res>(method: string, answer: (req: Req) => Res | Canned): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const failure = this.enter(method, call.request);
      if (failure) return callback(failure);
      const res = answer(call.request);
      if (res && typeof res === 'object' && 'code' in res && 'details' in res) return callback(res as Canned);
      callback(null, res as Res);
    };
  }

  private handlers(): ControlServiceHandlers {
    const notFound = (what: string): Canned => ({ code: grpc.status.NOT_FOUND, details: `${what} not found` });
    return {
      CreateApplication: this.unary('CreateApplication', req => ({ name: req.name, createdAt: T0 })),
      CreateToken: this.unary('CreateToken', req => ({ info: { id: 'abcdefghij12', role: req.role, createdAt: T0, usesLeft: req.uses || -1 }, token: `fy.abcdefghij12.${'s'.repeat(43)}` })),
      ListTokens: this.unary('ListTokens', () => ({ tokens: [] })),
      RevokeHost: this.unary('RevokeHost', req => ({ hostId: req.id, revoked: 1 })),
      UpgradeHosts: this.unary('UpgradeHosts', () => this.upgrade),
      SetHostTags: this.unary('SetHostTags', req => hostInfo({ id: req.id, tags: req.tags, grantedTags: req.tags, tagsGranted: true })),
      RemoveHost: this.unary('RemoveHost', req => ({ hostId: req.id, hostname: 'ip-10-0-0-5', revokedCertificates: 1, groups: ['shop/web'] })),
      DeleteApplication: this.unary('DeleteApplication', () => ({ groups: 2, deployments: 7, triggers: 1, schedules: 0, plans: 1, revisions: 3 })),
      DeleteDeploymentGroup: this.unary('DeleteDeploymentGroup', () => ({ groups: 1, deployments: 4, triggers: 1, schedules: 1, plans: 0, revisions: 0 })),
      DeleteRevisions: this.unary('DeleteRevisions', req => ({
        dryRun: req.dryRun, deleted: this.revisions.slice(req.hasKeep ? req.keep : 0),
        kept: [],
      })),
      RevokeToken: this.unary('RevokeToken', req => ({ id: req.id, role: 'viewer', revokedAt: T0 })),
      ListApplications: this.unary('ListApplications', () => ({ applications: [{ name: 'shop', createdAt: T0 }] })),
      CreateDeploymentConfig: this.unary('CreateDeploymentConfig', req => ({ ...req, builtIn: false, createdAt: T0 })),
      ListDeploymentConfigs: this.unary('ListDeploymentConfigs', () => ({ configs: this.configs })),
      CreateDeploymentGroup: this.unary('CreateDeploymentGroup', req =>
        group({ application: req.application, name: req.name, tagSets: req.tagSets, configName: req.configName || 'OneAtATime', matchingHostIds: ['h-1'] }),
      ),
      ListDeploymentGroups: this.unary('ListDeploymentGroups', req => ({ groups: this.groups.filter(g => g.application === req.application) })),
      GetDeploymentGroup: this.unary('GetDeploymentGroup', req =>
        this.groups.find(g => g.application === req.application && g.name === req.name) ?? notFound(`deployment group ${req.application}/${req.name}`),
      ),
      ListRevisions: this.unary('ListRevisions', () => ({ revisions: this.revisions })),
      CreateDeployment: this.unary('CreateDeployment', () => this.deployment),
      GetDeployment: this.unary('GetDeployment', req => (req.id === this.deployment.deployment?.id ? page(this.deployment, req.hostLimit, req.hostAfter) : notFound(`deployment ${req.id}`))),
      ListDeployments: this.unary('ListDeployments', req => {
        const deployments = this.deployment.deployment ? [this.deployment.deployment] : [];
        if (!req.host) return { deployments };
        // A host's history: the canned deployment if it targeted the host (by id or hostname).
        const target = this.deployment.hosts.find(h => h.hostId === req.host || h.hostname === req.host);
        return target ? { deployments, hostResults: [{ ...target, events: [] }] } : { deployments: [], hostResults: [] };
      }),
      RetryDeployment: this.unary('RetryDeployment', req => (req.id === this.deployment.deployment?.id ? this.deployment : notFound(`deployment ${req.id}`))),
      RollbackDeployment: this.unary('RollbackDeployment', req => (req.id === this.deployment.deployment?.id ? this.deployment : notFound(`deployment ${req.id}`))),
      RedeployDeployment: this.unary('RedeployDeployment', req => (req.id === this.deployment.deployment?.id ? this.deployment : notFound(`deployment ${req.id}`))),
      UpdateDeploymentGroup: this.unary('UpdateDeploymentGroup', req =>
        this.groups.find(g => g.application === req.application && g.name === req.name) ?? notFound(`deployment group ${req.application}/${req.name}`),
      ),
      PauseDeployment: this.unary('PauseDeployment', () => this.deployment),
      ResumeDeployment: this.unary('ResumeDeployment', () => this.deployment),
      ApproveDeployment: this.unary('ApproveDeployment', () => this.deployment),
      RejectDeployment: this.unary('RejectDeployment', () => this.deployment),
      StopDeployment: this.unary('StopDeployment', req => (req.id === this.deployment.deployment?.id ? this.deployment : notFound(`deployment ${req.id}`))),
      // Paged and filtered as the coordinator does (by id), with its summary.
      ListHosts: this.unary('ListHosts', req => {
        const stateOf = (h: HostInfo__Output) => h.state || (h.connected ? 'connected' : 'reconnecting');
        const matching = [...this.hosts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .filter(h => (!req.state || stateOf(h) === req.state) && Object.entries(req.tags ?? {}).every(([k, v]) => h.tags[k] === v));
        const after = req.after ? matching.filter(h => h.id > req.after) : matching;
        const hosts = req.limit > 0 ? after.slice(0, req.limit) : after;
        const count = (st: string) => this.hosts.filter(h => stateOf(h) === st).length;
        return {
          hosts, nextAfter: hosts.length < after.length ? hosts[hosts.length - 1]!.id : '',
          summary: { total: this.hosts.length, connected: count('connected'), reconnecting: count('reconnecting'), lost: count('lost'), revoked: count('revoked'), matched: matching.length },
        };
      }),
      GetHost: this.unary('GetHost', req => this.hosts.find(h => h.id === req.id) ?? notFound(`host ${req.id}`)),
      PromoteDeployment: this.unary('PromoteDeployment', () => ({ detail: this.deployment, source: deployment({ id: 'd-SOURCE', groupName: 'staging', status: 'Succeeded' }) })),
      WatchDeployment: call => void this.streamWatch(call),
      StreamLogs: call => {
        const failure = this.enter('StreamLogs', call.request);
        if (failure) return call.destroy(Object.assign(new Error(failure.details), failure));
        for (const e of this.logs) if (!call.request.hostId || e.hostId === call.request.hostId) call.write(e);
        call.end();
      },
      UploadRevision: (call, callback) => this.receiveUpload(call, callback),
      // Notifications and events
      SetTrigger: this.unary('SetTrigger', req => ({
        trigger: {
          name: req.name, url: req.url, events: req.events, format: req.format || 'json', createdAt: T0, updatedAt: T0, lastAttemptAt: '', lastStatus: 0,
          lastError: '', lastDeliveredAt: '', delivered: 0, failedAttempts: 0, givenUp: 0, pending: 1,
        },
        created: true, generatedSecret: req.secret ? '' : 'f'.repeat(64), testEventSeq: 7,
      })),
      RemoveTrigger: this.unary('RemoveTrigger', req =>
        this.groups.find(g => g.application === req.application && g.name === req.group) ?? notFound(`deployment group ${req.application}/${req.group}`),
      ),
      StreamAudit: call => {
        const failure = this.enter('StreamAudit', call.request);
        if (failure) return call.destroy(Object.assign(new Error(failure.details), failure));
        for (const r of this.audit) if (r.seq > Number(call.request.sinceSeq)) call.write(r);
        call.end();
      },
      StreamEvents: call => {
        const failure = this.enter('StreamEvents', call.request);
        if (failure) return call.destroy(Object.assign(new Error(failure.details), failure));
        const { sinceSeq, application } = call.request;
        for (const e of this.events) if (e.seq > Number(sinceSeq) && (!application || e.application === application)) call.write(e);
        call.end();
      },
      PlanDeployment: this.unary('PlanDeployment', () => this.plan ?? notFound('plan')),
      GetDeploymentPlan: this.unary('GetDeploymentPlan', req => (this.plan && req.id === this.plan.id ? this.plan : notFound(`plan ${req.id}`))),
      CreateSchedule: this.unary('CreateSchedule', req => schedule({
        application: req.deployment?.application ?? '', group: req.deployment?.group ?? '', revision: req.deployment?.revision ?? '',
        at: req.at, cron: req.cron, timezone: req.timezone || 'UTC', nextRunAt: req.at || at(3600),
      })),
      ListSchedules: this.unary('ListSchedules', () => ({ schedules: this.schedules })),
      CancelSchedule: this.unary('CancelSchedule', req => {
        const s = this.schedules.find(x => x.id === req.id);
        return s ? { ...s, state: 'Cancelled', nextRunAt: '' } : notFound(`schedule ${req.id}`);
      }),
    };
  }

  private async streamWatch(call: grpc.ServerWritableStream<{ id: string }, unknown>): Promise<void> {
    const failure = this.enter('WatchDeployment', call.request);
    if (failure) return void call.destroy(Object.assign(new Error(failure.details), failure));
    let cancelled = false;
    call.on('cancelled', () => (cancelled = true));
    for (const step of this.watchById.get(call.request.id) ?? this.watch) {
      if (step.delayMs) await new Promise(r => setTimeout(r, step.delayMs));
      if (cancelled) return;
      call.write(step.detail);
    }
    if (!this.watchHold) call.end();
  }

  private receiveUpload(
    call: grpc.ServerReadableStream<{ header?: RevisionHeader__Output | null; chunk?: Buffer }, unknown>,
    callback: grpc.sendUnaryData<UploadRevisionResponse>,
  ): void {
    const upload: Upload = { header: null, bytes: Buffer.alloc(0), chunkSizes: [] };
    const chunks: Buffer[] = [];
    call.on('data', msg => {
      if (msg.header) upload.header = msg.header;
      if (msg.chunk) {
        chunks.push(msg.chunk);
        upload.chunkSizes.push(msg.chunk.length);
      }
    });
    call.on('end', () => {
      upload.bytes = Buffer.concat(chunks);
      this.uploads.push(upload);
      const failure = this.enter('UploadRevision', upload.header);
      if (failure) return callback(failure);
      const digest = createHash('sha256').update(upload.bytes).digest('hex');
      const h = upload.header;
      if (h?.expectedDigest && h.expectedDigest !== digest) {
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: `digest mismatch: expected ${h.expectedDigest}, got ${digest}` });
      }
      const created = !this.storedDigests.has(digest);
      this.storedDigests.add(digest);
      const revision = {
        digest, application: h?.application ?? '', size: upload.bytes.length, bundleType: h?.bundleType ?? '',
        description: h?.description ?? '', commit: h?.commit ?? '', createdAt: T0,
      };
      callback(null, { revision, created });
    });
  }
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Starts a fake coordinator, stopped when the test ends. */
export async function startFakeControl(t: Teardown): Promise<FakeControl> {
  const fake = new FakeControl();
  await fake.start();
  t.teardown(() => fake.close());
  return fake;
}

export interface FerryResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Parsed stdout when it is JSON. */
  json?: any;
}

// From the source (test/helpers) or the build (dist/test/helpers).
const FERRY_BIN = ['../../bin/ferry', '../../../bin/ferry'].map(p => fileURLToPath(new URL(p, import.meta.url))).find(p => existsSync(p)) ?? 'bin/ferry';

/** Runs the real `bin/ferry` (the build) as a separate process, without colour or FERRY_* settings. */
export function runFerry(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<FerryResult> {
  // Times print in the local zone: tests pin it (UTC) unless they set TZ themselves.
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', TZ: 'UTC', ...opts.env };
  if (!opts.env?.FERRY_COORDINATOR) delete env.FERRY_COORDINATOR;
  const child = spawn(process.execPath, [FERRY_BIN, ...args], { cwd: opts.cwd ?? process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  return new Promise(resolve => {
    child.on('close', code => {
      clearTimeout(timer);
      const r: FerryResult = { code, stdout, stderr };
      try {
        r.json = JSON.parse(stdout);
      } catch {
        // human output
      }
      resolve(r);
    });
  });
}
