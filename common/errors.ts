/**
 * One error class with stable codes (docs/design/style.md §13), shared by the agent, the coordinator and the CLI.
 * Messages are for people; code is for programs.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'CONFLICT',
  'ILLEGAL_TRANSITION',
  'FAILED_PRECONDITION',
  'UNAVAILABLE',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'CHECKSUM_MISMATCH',
  'LOCKED',
  'RESOURCE_EXHAUSTED',
  'APPSPEC_INVALID',
  'BUNDLE_REJECTED',
  'INSTALL_FAILED',
  'TOOL_MISSING',
  'DISK_FULL',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class FerryError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FerryError';
    this.code = code;
  }
}

export function isFerryError(err: unknown, code?: ErrorCode): err is FerryError {
  return err instanceof FerryError && (code === undefined || err.code === code);
}

/** A short, single-line description of any thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** True when `err`, or an error it was caused by, is a full disk (ENOSPC). */
export function isDiskFull(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC' || isFerryError(e, 'DISK_FULL')) return true;
  }
  return false;
}
