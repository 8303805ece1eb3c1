import { once } from 'node:events';
import { escapeControls, escapeDeep } from '../common/text.js';
import * as grpc from '@grpc/grpc-js';
import { errorCodeOfStatus } from '../common/grpc-status.js';
import { FerryError, describeError } from '../common/errors.js';
import { KEEPALIVE_OPTIONS, TRANSFER_CLIENT_OPTIONS, loadFerryProto } from '../proto/load.js';
import type { RemoveHostResponse__Output } from '../proto/gen/ferry/v1/RemoveHostResponse.js';
import type { DeleteApplicationRequest } from '../proto/gen/ferry/v1/DeleteApplicationRequest.js';
import type { DeleteResponse__Output } from '../proto/gen/ferry/v1/DeleteResponse.js';
import type { DeleteRevisionsRequest } from '../proto/gen/ferry/v1/DeleteRevisionsRequest.js';
import type { DeleteRevisionsResponse__Output } from '../proto/gen/ferry/v1/DeleteRevisionsResponse.js';
import type { Application__Output } from '../proto/gen/ferry/v1/Application.js';
import type { ControlServiceClient } from '../proto/gen/ferry/v1/ControlService.js';
import type { CreateApplicationRequest } from '../proto/gen/ferry/v1/CreateApplicationRequest.js';
import type { CreateDeploymentConfigRequest } from '../proto/gen/ferry/v1/CreateDeploymentConfigRequest.js';
import type { CreateDeploymentGroupRequest } from '../proto/gen/ferry/v1/CreateDeploymentGroupRequest.js';
import type { CreateDeploymentRequest } from '../proto/gen/ferry/v1/CreateDeploymentRequest.js';
import type { DeploymentConfig__Output } from '../proto/gen/ferry/v1/DeploymentConfig.js';
import type { DeploymentPlan__Output } from '../proto/gen/ferry/v1/DeploymentPlan.js';
import type { PlanDeploymentRequest } from '../proto/gen/ferry/v1/PlanDeploymentRequest.js';
import type { DeploymentDetail__Output } from '../proto/gen/ferry/v1/DeploymentDetail.js';
import type { DeploymentGroup__Output } from '../proto/gen/ferry/v1/DeploymentGroup.js';
import type { GetDeploymentGroupRequest } from '../proto/gen/ferry/v1/GetDeploymentGroupRequest.js';
import type { GetDeploymentRequest } from '../proto/gen/ferry/v1/GetDeploymentRequest.js';
import type { GetHostRequest } from '../proto/gen/ferry/v1/GetHostRequest.js';
import type { SetHostTagsRequest } from '../proto/gen/ferry/v1/SetHostTagsRequest.js';
import type { HostInfo__Output } from '../proto/gen/ferry/v1/HostInfo.js';
import type { ListApplicationsResponse__Output } from '../proto/gen/ferry/v1/ListApplicationsResponse.js';
import type { ListDeploymentConfigsResponse__Output } from '../proto/gen/ferry/v1/ListDeploymentConfigsResponse.js';
import type { ListDeploymentGroupsRequest } from '../proto/gen/ferry/v1/ListDeploymentGroupsRequest.js';
import type { ListDeploymentGroupsResponse__Output } from '../proto/gen/ferry/v1/ListDeploymentGroupsResponse.js';
import type { StopDeploymentRequest } from '../proto/gen/ferry/v1/StopDeploymentRequest.js';
import type { UpdateDeploymentGroupRequest } from '../proto/gen/ferry/v1/UpdateDeploymentGroupRequest.js';
import type { ListDeploymentsRequest } from '../proto/gen/ferry/v1/ListDeploymentsRequest.js';
import type { ListDeploymentsResponse__Output } from '../proto/gen/ferry/v1/ListDeploymentsResponse.js';
import type { GetDeploymentPageRequest } from '../proto/gen/ferry/v1/GetDeploymentPageRequest.js';
import type { ListHostsRequest } from '../proto/gen/ferry/v1/ListHostsRequest.js';
import type { ListHostsResponse__Output } from '../proto/gen/ferry/v1/ListHostsResponse.js';
import type { ListRevisionsRequest } from '../proto/gen/ferry/v1/ListRevisionsRequest.js';
import type { ListRevisionsResponse__Output } from '../proto/gen/ferry/v1/ListRevisionsResponse.js';
import type { LogEntry__Output } from '../proto/gen/ferry/v1/LogEntry.js';
import type { PromoteDeploymentRequest } from '../proto/gen/ferry/v1/PromoteDeploymentRequest.js';
import type { PromoteDeploymentResponse__Output } from '../proto/gen/ferry/v1/PromoteDeploymentResponse.js';
import type { RetryDeploymentRequest } from '../proto/gen/ferry/v1/RetryDeploymentRequest.js';
import type { RevisionHeader } from '../proto/gen/ferry/v1/RevisionHeader.js';
import type { StreamLogsRequest } from '../proto/gen/ferry/v1/StreamLogsRequest.js';
import type { AuditRecord__Output } from '../proto/gen/ferry/v1/AuditRecord.js';
import type { StreamAuditRequest } from '../proto/gen/ferry/v1/StreamAuditRequest.js';
import type { Event__Output } from '../proto/gen/ferry/v1/Event.js';
import type { RemoveTriggerRequest } from '../proto/gen/ferry/v1/RemoveTriggerRequest.js';
import type { SetTriggerRequest } from '../proto/gen/ferry/v1/SetTriggerRequest.js';
import type { SetTriggerResponse__Output } from '../proto/gen/ferry/v1/SetTriggerResponse.js';
import type { StreamEventsRequest } from '../proto/gen/ferry/v1/StreamEventsRequest.js';
import type { UploadRevisionRequest } from '../proto/gen/ferry/v1/UploadRevisionRequest.js';
import type { UploadRevisionResponse__Output } from '../proto/gen/ferry/v1/UploadRevisionResponse.js';
import type { CliConfig } from './config.js';
import type { CancelScheduleRequest } from '../proto/gen/ferry/v1/CancelScheduleRequest.js';
import type { CreateScheduleRequest } from '../proto/gen/ferry/v1/CreateScheduleRequest.js';
import type { ListSchedulesRequest } from '../proto/gen/ferry/v1/ListSchedulesRequest.js';
import type { ListSchedulesResponse__Output } from '../proto/gen/ferry/v1/ListSchedulesResponse.js';
import type { Schedule__Output } from '../proto/gen/ferry/v1/Schedule.js';
import type { CreateTokenRequest } from '../proto/gen/ferry/v1/CreateTokenRequest.js';
import type { CreateTokenResponse__Output } from '../proto/gen/ferry/v1/CreateTokenResponse.js';
import type { ListTokensResponse__Output } from '../proto/gen/ferry/v1/ListTokensResponse.js';
import type { RevokeHostResponse__Output } from '../proto/gen/ferry/v1/RevokeHostResponse.js';
import type { UpgradeHostsRequest } from '../proto/gen/ferry/v1/UpgradeHostsRequest.js';
import type { UpgradeHostsResponse__Output } from '../proto/gen/ferry/v1/UpgradeHostsResponse.js';
import type { RevokeTokenRequest } from '../proto/gen/ferry/v1/RevokeTokenRequest.js';
import type { TokenInfo__Output } from '../proto/gen/ferry/v1/TokenInfo.js';
import { isRefusal } from './exit-codes.js';

/** Where the coordinator's address came from, named in "cannot reach" errors. */
export type AddressSource = CliConfig['coordinatorSource'];

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

/** The message a person reads for a failed call, saying what to do next. Pure. */
export function describeApiError(code: number, details: string, address: string, source?: AddressSource, plaintext = false): string {
  if (code === grpc.status.UNAVAILABLE) {
    const why = details.replace(/\s*Resolution note:\s*$/, '');
    const from = source === undefined ? '' : source === 'default' ? ' (the default: FERRY_COORDINATOR is not set)' : ` (from ${source})`;
    const tlsHint = plaintext || /TLS|SSL|secure|certificate|handshake/i.test(details)
      ? `; it serves TLS unless started with --insecure: give its CA with --ca FILE or --ca-fingerprint (FERRY_CA, FERRY_CA_FINGERPRINT)${plaintext ? ' and a token (FERRY_TOKEN)' : ''}`
      : '';
    return `cannot reach the coordinator at ${address}${from}: is ferry-coordinator running there? ` +
      `point ferry at it with --coordinator HOST:PORT or FERRY_COORDINATOR=HOST:PORT${tlsHint}` + (why ? `\n  (${why})` : '');
  }
  if (code === grpc.status.DEADLINE_EXCEEDED) {
    return `the coordinator at ${address} did not answer in time: is it overloaded? try again, or check its logs`;
  }
  if (isRefusal(code)) return details || grpc.status[code] || `status ${code}`;
  if (code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED) return details || grpc.status[code]!;
  if (code === grpc.status.UNIMPLEMENTED) {
    return `the coordinator at ${address} does not know this call: is it older than this ferry CLI? (${details})`;
  }
  return `unexpected error from the coordinator at ${address}: ${grpc.status[code] ?? code}: ${details || 'no details'}; check its logs`;
}

/** A call that failed because no connection could be made: the request never left. */
function neverConnected(err: unknown): boolean {
  const cause = (err as { cause?: unknown }).cause;
  return isServiceError(cause) && cause.code === grpc.status.UNAVAILABLE &&
    /No connection established|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/.test(cause.details);
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'details' in err;
}

/**
 * ControlService, promise- and iterator-shaped. Every failure comes out as a FerryError whose
 * message says what to do next and whose `cause` is the gRPC error (its status decides the exit code).
 */
export class ControlApi {
  private client: ControlServiceClient;
  /** No CA given: the hint for a failed connection mentions TLS. */
  private readonly plaintext: boolean;
  private readonly credentials: grpc.ChannelCredentials;
  /** The coordinator replicas (`--coordinator a:7420,b:7420`); calls go to `replicas[at]`. */
  private readonly replicas: string[];
  private at = 0;

  /**
   * `terminal`: what the coordinator sends goes to a terminal (human output on a TTY). Every string in
   * responses, streamed messages and error messages then has its control characters escaped (`\x1b`):
   * hostnames, tags and zones come from enrolled agents, log lines from hook scripts, and none of them
   * may drive the reader's terminal (docs/security.md). --json and output to a file or pipe keep the bytes.
   */
  constructor(address: string, private readonly deadlineMs: number, private readonly source?: AddressSource, credentials?: grpc.ChannelCredentials, private readonly terminal = false) {
    this.plaintext = credentials === undefined;
    this.credentials = credentials ?? grpc.credentials.createInsecure();
    this.replicas = address.split(',');
    this.client = this.connect();
  }

  /** The coordinator (replica) calls go to now. */
  get address(): string {
    return this.replicas[this.at]!;
  }

  private connect(): ControlServiceClient {
    const { ControlService } = loadFerryProto().ferry.v1;
    return new ControlService(this.address, this.credentials, { ...KEEPALIVE_OPTIONS, ...TRANSFER_CLIENT_OPTIONS });
  }

  /** The next replica takes the following calls (one address: a no-op). */
  private failover(): void {
    if (this.replicas.length < 2) return;
    this.client.close();
    this.at = (this.at + 1) % this.replicas.length;
    this.client = this.connect();
  }

  close(): void {
    this.client.close();
  }

  /**
   * As a FerryError saying what to do. An UNAVAILABLE moves the following calls to the next
   * replica, so a `--wait` or `--follow` that reconnects reaches another coordinator.
   */
  toFerryError(err: unknown): FerryError {
    if (err instanceof FerryError) return err;
    if (!isServiceError(err)) return new FerryError('INTERNAL', describeError(err), { cause: err });
    const details = this.terminal ? escapeControls(err.details) : err.details;
    const address = this.address;
    if (err.code === grpc.status.UNAVAILABLE) this.failover();
    return new FerryError(errorCodeOfStatus(err.code), describeApiError(err.code, details, address, this.source, this.plaintext), { cause: err });
  }

  /**
   * One call. A replica that could not be connected to never saw the request, so the call is made
   * again on the next replica, each at most once; any other failure is the caller's to handle.
   */
  private async unary<Req, Res>(method: Unary<Req, Res>, req: Req, deadlineMs = this.deadlineMs): Promise<Res> {
    for (let tries = 1; ; tries++) {
      try {
        return await new Promise<Res>((resolve, reject) => {
          const opts: grpc.CallOptions = { deadline: Date.now() + deadlineMs };
          method.call(this.client, req, new grpc.Metadata(), opts, (err, res) => {
            if (err || res === undefined) reject(this.toFerryError(err ?? new Error('empty response')));
            else resolve(this.terminal ? escapeDeep(res) : res);
          });
        });
      } catch (err) {
        if (tries >= this.replicas.length || !neverConnected(err)) throw err;
      }
    }
  }

  private async *iterate<T>(call: grpc.ClientReadableStream<T>, signal?: AbortSignal): AsyncGenerator<T> {
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const message of call) yield (this.terminal ? escapeDeep(message) : message) as T;
    } catch (err) {
      if (signal?.aborted) return;
      // Not cancelled by us: the coordinator went away mid-stream (a replica shutting down
      // cancels its streams). The same as a dropped connection: the follower reconnects elsewhere.
      if (isServiceError(err) && err.code === grpc.status.CANCELLED) {
        const address = this.address;
        this.failover();
        // No gRPC cause: its status (CANCELLED) would make this an internal error (exit-codes.ts).
        throw new FerryError('UNAVAILABLE', `the coordinator at ${address} ended the stream (shutting down?): ${err.details}`);
      }
      throw this.toFerryError(err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  createToken(req: CreateTokenRequest) {
    return this.unary<CreateTokenRequest, CreateTokenResponse__Output>(this.client.createToken, req);
  }
  listTokens() {
    return this.unary<object, ListTokensResponse__Output>(this.client.listTokens, {});
  }
  revokeHost(id: string) {
    return this.unary<GetHostRequest, RevokeHostResponse__Output>(this.client.revokeHost, { id });
  }
  /** Waits for the whole rollout: the coordinator ends it (each host has its own timeout), so the call's deadline is a day. */
  upgradeHosts(req: UpgradeHostsRequest) {
    return this.unary<UpgradeHostsRequest, UpgradeHostsResponse__Output>(this.client.upgradeHosts, req, 24 * 3600_000);
  }

  setHostTags(req: SetHostTagsRequest) {
    return this.unary<SetHostTagsRequest, HostInfo__Output>(this.client.setHostTags, req);
  }
  removeHost(id: string) {
    return this.unary<GetHostRequest, RemoveHostResponse__Output>(this.client.removeHost, { id });
  }
  deleteApplication(name: string) {
    return this.unary<DeleteApplicationRequest, DeleteResponse__Output>(this.client.deleteApplication, { name });
  }
  deleteDeploymentGroup(req: GetDeploymentGroupRequest) {
    return this.unary<GetDeploymentGroupRequest, DeleteResponse__Output>(this.client.deleteDeploymentGroup, req);
  }
  deleteRevisions(req: DeleteRevisionsRequest) {
    return this.unary<DeleteRevisionsRequest, DeleteRevisionsResponse__Output>(this.client.deleteRevisions, req);
  }
  revokeToken(id: string) {
    return this.unary<RevokeTokenRequest, TokenInfo__Output>(this.client.revokeToken, { id });
  }
  createApplication(req: CreateApplicationRequest) {
    return this.unary<CreateApplicationRequest, Application__Output>(this.client.createApplication, req);
  }
  listApplications() {
    return this.unary<object, ListApplicationsResponse__Output>(this.client.listApplications, {});
  }
  createDeploymentConfig(req: CreateDeploymentConfigRequest) {
    return this.unary<CreateDeploymentConfigRequest, DeploymentConfig__Output>(this.client.createDeploymentConfig, req);
  }
  listDeploymentConfigs() {
    return this.unary<object, ListDeploymentConfigsResponse__Output>(this.client.listDeploymentConfigs, {});
  }
  createDeploymentGroup(req: CreateDeploymentGroupRequest) {
    return this.unary<CreateDeploymentGroupRequest, DeploymentGroup__Output>(this.client.createDeploymentGroup, req);
  }
  listDeploymentGroups(req: ListDeploymentGroupsRequest) {
    return this.unary<ListDeploymentGroupsRequest, ListDeploymentGroupsResponse__Output>(this.client.listDeploymentGroups, req);
  }
  getDeploymentGroup(req: GetDeploymentGroupRequest) {
    return this.unary<GetDeploymentGroupRequest, DeploymentGroup__Output>(this.client.getDeploymentGroup, req);
  }
  listRevisions(req: ListRevisionsRequest) {
    return this.unary<ListRevisionsRequest, ListRevisionsResponse__Output>(this.client.listRevisions, req);
  }
  createDeployment(req: CreateDeploymentRequest) {
    return this.unary<CreateDeploymentRequest, DeploymentDetail__Output>(this.client.createDeployment, req);
  }
  getDeployment(req: GetDeploymentPageRequest) {
    return this.unary<GetDeploymentPageRequest, DeploymentDetail__Output>(this.client.getDeployment, req);
  }
  stopDeployment(req: StopDeploymentRequest) {
    return this.unary<StopDeploymentRequest, DeploymentDetail__Output>(this.client.stopDeployment, req);
  }
  /** Pause, Resume, Approve, Reject: the same request shape as Stop. */
  control(verb: 'pause' | 'resume' | 'approve' | 'reject', req: StopDeploymentRequest) {
    const method = { pause: this.client.pauseDeployment, resume: this.client.resumeDeployment, approve: this.client.approveDeployment, reject: this.client.rejectDeployment }[verb];
    return this.unary<StopDeploymentRequest, DeploymentDetail__Output>(method, req);
  }
  rollbackDeployment(req: GetDeploymentRequest) {
    return this.unary<GetDeploymentRequest, DeploymentDetail__Output>(this.client.rollbackDeployment, req);
  }
  redeployDeployment(req: GetDeploymentRequest) {
    return this.unary<GetDeploymentRequest, DeploymentDetail__Output>(this.client.redeployDeployment, req);
  }
  retryDeployment(req: RetryDeploymentRequest) {
    return this.unary<RetryDeploymentRequest, DeploymentDetail__Output>(this.client.retryDeployment, req);
  }
  updateDeploymentGroup(req: UpdateDeploymentGroupRequest) {
    return this.unary<UpdateDeploymentGroupRequest, DeploymentGroup__Output>(this.client.updateDeploymentGroup, req);
  }
  listDeployments(req: ListDeploymentsRequest) {
    return this.unary<ListDeploymentsRequest, ListDeploymentsResponse__Output>(this.client.listDeployments, req);
  }
  // Schedules
  createSchedule(req: CreateScheduleRequest) {
    return this.unary<CreateScheduleRequest, Schedule__Output>(this.client.createSchedule, req);
  }
  listSchedules(req: ListSchedulesRequest) {
    return this.unary<ListSchedulesRequest, ListSchedulesResponse__Output>(this.client.listSchedules, req);
  }
  cancelSchedule(req: CancelScheduleRequest) {
    return this.unary<CancelScheduleRequest, Schedule__Output>(this.client.cancelSchedule, req);
  }
  /** Every host with no request; a page (limit, after) and filters (tags, state) with one. */
  listHosts(req: ListHostsRequest = {}) {
    return this.unary<ListHostsRequest, ListHostsResponse__Output>(this.client.listHosts, req);
  }
  getHost(req: GetHostRequest) {
    return this.unary<GetHostRequest, HostInfo__Output>(this.client.getHost, req);
  }
  planDeployment(req: PlanDeploymentRequest) {
    return this.unary<PlanDeploymentRequest, DeploymentPlan__Output>(this.client.planDeployment, req);
  }
  getDeploymentPlan(id: string) {
    return this.unary<{ id: string }, DeploymentPlan__Output>(this.client.getDeploymentPlan, { id });
  }
  promoteDeployment(req: PromoteDeploymentRequest) {
    return this.unary<PromoteDeploymentRequest, PromoteDeploymentResponse__Output>(this.client.promoteDeployment, req);
  }

  /** The deployment now, then on every change, until it is terminal (or `signal` aborts). */
  watchDeployment(id: string, signal?: AbortSignal): AsyncGenerator<DeploymentDetail__Output> {
    return this.iterate(this.client.watchDeployment({ id }), signal);
  }

  streamLogs(req: StreamLogsRequest, signal?: AbortSignal): AsyncGenerator<LogEntry__Output> {
    return this.iterate(this.client.streamLogs(req), signal);
  }

  // Notifications and events
  streamEvents(req: StreamEventsRequest, signal?: AbortSignal): AsyncGenerator<Event__Output> {
    return this.iterate(this.client.streamEvents(req), signal);
  }
  streamAudit(req: StreamAuditRequest, signal?: AbortSignal): AsyncGenerator<AuditRecord__Output> {
    return this.iterate(this.client.streamAudit(req), signal);
  }
  setTrigger(req: SetTriggerRequest) {
    return this.unary<SetTriggerRequest, SetTriggerResponse__Output>(this.client.setTrigger, req);
  }
  removeTrigger(req: RemoveTriggerRequest) {
    return this.unary<RemoveTriggerRequest, DeploymentGroup__Output>(this.client.removeTrigger, req);
  }

  /** Sends the header, then every chunk (each at most the server's message size), with backpressure. */
  async uploadRevision(header: RevisionHeader, chunks: AsyncIterable<Buffer>): Promise<UploadRevisionResponse__Output> {
    let call!: grpc.ClientWritableStream<UploadRevisionRequest>;
    const answered = new Promise<UploadRevisionResponse__Output>((resolve, reject) => {
      call = this.client.uploadRevision((err, res) => {
        if (err || res === undefined) reject(this.toFerryError(err ?? new Error('empty response')));
        else resolve(this.terminal ? escapeDeep(res) : res);
      });
    });
    // Once the server has answered (an early refusal included), stop sending.
    const settled = answered.then(() => 'answered' as const, () => 'answered' as const);
    try {
      call.write({ header });
      for await (const chunk of chunks) {
        if (!call.write({ chunk })) {
          if ((await Promise.race([once(call, 'drain').then(() => 'drained' as const), settled])) === 'answered') break;
        }
      }
      call.end();
    } catch (err) {
      call.cancel();
      throw err;
    }
    return answered;
  }
}
