import { status as GrpcStatus } from '@grpc/grpc-js';
import { isFerryError } from '../common/errors.js';
import type { DeploymentDetail__Output } from '../proto/gen/ferry/v1/DeploymentDetail.js';

/** Exit codes of `ferry` (documented in `ferry --help` and cli/README.md). */
export const EXIT = {
  ok: 0,
  /** The deployment Failed, or the command failed (the coordinator refused it). */
  failed: 1,
  /** Bad usage: an unknown or bad flag or value; the message names it. */
  usage: 2,
  stopped: 3,
  /** The deployment Failed or was Stopped, and a rollback to the last good revision was started. */
  rolledBack: 4,
  /** `--wait` gave up after `--timeout`; the deployment goes on. */
  timedOut: 5,
  /** The coordinator cannot be reached (or did not answer in time, or its stream broke off). */
  unavailable: 6,
  /** Anything unexpected: an API status the CLI has no meaning for, or a bug in ferry itself. */
  internal: 7,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  success (with --wait: the deployment Succeeded)
  1  the deployment Failed, or the coordinator refused the command
  2  usage error: a bad flag or value (the message names it)
  3  the deployment was Stopped
  4  the deployment failed or was stopped, and was rolled back
  5  --wait timed out (--timeout); the deployment goes on
  6  cannot reach the coordinator ($FERRY_COORDINATOR or --coordinator), or it did not answer
  7  unexpected error (an unexpected answer from the coordinator, or a bug in ferry)`;

/** How a `--wait` ended, as the `outcome` field of the final --json document. */
export type WaitOutcome = 'succeeded' | 'failed' | 'stopped' | 'rolled-back' | 'timed-out' | 'awaiting-approval';

export function outcomeOf(code: ExitCode): WaitOutcome {
  switch (code) {
    case EXIT.ok: return 'succeeded';
    case EXIT.stopped: return 'stopped';
    case EXIT.rolledBack: return 'rolled-back';
    case EXIT.timedOut: return 'timed-out';
    default: return 'failed';
  }
}

/** gRPC statuses that carry the coordinator's own explanation: print it and exit 1. */
const REFUSALS: ReadonlySet<number> = new Set([
  GrpcStatus.NOT_FOUND,
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.ALREADY_EXISTS,
  GrpcStatus.FAILED_PRECONDITION,
  GrpcStatus.UNAUTHENTICATED,
  GrpcStatus.PERMISSION_DENIED,
  // The coordinator's disk is full, or a limit (refused calls, streams) was reached: it says which.
  GrpcStatus.RESOURCE_EXHAUSTED,
]);

export function isRefusal(code: number): boolean {
  return REFUSALS.has(code);
}

/** The gRPC status code of an error from the API, or of its cause. */
export function grpcCodeOf(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number' && 'details' in e) return code;
  }
  return undefined;
}

/** gRPC statuses meaning the coordinator is not there (or not answering): exit 6. */
const UNREACHABLE: ReadonlySet<number> = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED]);

/**
 * API errors by gRPC status: a refusal is 1, unreachable is 6, anything else 7. Local ones by
 * code: INVALID_ARGUMENT is a usage error (2), UNAVAILABLE is 6, a refusal-like code (a file the
 * CLI cannot read, a bundle it cannot pack) is 1; anything else — a bug — is 7, never a code a
 * pipeline reads as a deployment outcome.
 */
export function exitCodeForError(err: unknown): ExitCode {
  const grpc = grpcCodeOf(err);
  if (grpc !== undefined) {
    if (isRefusal(grpc)) return EXIT.failed;
    return UNREACHABLE.has(grpc) ? EXIT.unavailable : EXIT.internal;
  }
  if (isFerryError(err, 'INVALID_ARGUMENT')) return EXIT.usage;
  if (isFerryError(err, 'UNAVAILABLE')) return EXIT.unavailable;
  if (!isFerryError(err) || isFerryError(err, 'INTERNAL')) return EXIT.internal;
  return EXIT.failed;
}

/** Whether a Failed or Stopped deployment was rolled back: a rollback deployment is linked to it. */
export function wasRolledBack(detail: DeploymentDetail__Output): boolean {
  return (detail.deployment?.rolledBackBy ?? '') !== '';
}

/** The exit code of a finished `--wait`; undefined while the deployment is not terminal. */
export function exitCodeForDeployment(detail: DeploymentDetail__Output): ExitCode | undefined {
  switch (detail.deployment?.status) {
    case 'Succeeded':
      return EXIT.ok;
    case 'Failed':
      return wasRolledBack(detail) ? EXIT.rolledBack : EXIT.failed;
    case 'Stopped':
      return wasRolledBack(detail) ? EXIT.rolledBack : EXIT.stopped;
    default:
      return undefined;
  }
}
