import { status } from '@grpc/grpc-js';
import type { ErrorCode } from './errors.js';

/**
 * The one table between Ferry's error codes and gRPC status codes (docs/design/style.md §5), both ways: the
 * coordinator answers a FerryError with GRPC_STATUS[code]; the agent and the CLI turn a status
 * back into a code with errorCodeOfStatus.
 */
export const GRPC_STATUS: Readonly<Record<ErrorCode, status>> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  CONFLICT: status.ABORTED,
  ILLEGAL_TRANSITION: status.FAILED_PRECONDITION,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  UNAVAILABLE: status.UNAVAILABLE,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  CHECKSUM_MISMATCH: status.DATA_LOSS,
  LOCKED: status.RESOURCE_EXHAUSTED,
  APPSPEC_INVALID: status.INVALID_ARGUMENT,
  BUNDLE_REJECTED: status.INVALID_ARGUMENT,
  INSTALL_FAILED: status.INTERNAL,
  TOOL_MISSING: status.FAILED_PRECONDITION,
  DISK_FULL: status.RESOURCE_EXHAUSTED,
  INTERNAL: status.INTERNAL,
};

/** A status the coordinator (or grpc-js itself) sent → the code a client acts on. */
const ERROR_CODE_OF_STATUS: Readonly<Partial<Record<status, ErrorCode>>> = {
  [status.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [status.OUT_OF_RANGE]: 'INVALID_ARGUMENT',
  [status.NOT_FOUND]: 'NOT_FOUND',
  [status.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [status.ABORTED]: 'CONFLICT',
  [status.FAILED_PRECONDITION]: 'FAILED_PRECONDITION',
  [status.UNIMPLEMENTED]: 'FAILED_PRECONDITION',
  [status.UNAVAILABLE]: 'UNAVAILABLE',
  [status.DEADLINE_EXCEEDED]: 'UNAVAILABLE',
  [status.UNAUTHENTICATED]: 'UNAUTHENTICATED',
  [status.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [status.DATA_LOSS]: 'CHECKSUM_MISMATCH',
  [status.RESOURCE_EXHAUSTED]: 'LOCKED',
};

/** The FerryError code for a gRPC status; INTERNAL for one the table does not name. */
export function errorCodeOfStatus(code: number): ErrorCode {
  return ERROR_CODE_OF_STATUS[code as status] ?? 'INTERNAL';
}
