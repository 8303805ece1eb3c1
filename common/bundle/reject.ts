/** The two ways unpacking fails: the bundle is refused, or the machine could not write it. */
import { FerryError, describeError } from '../errors.js';

export function bundleRejected(source: string, problems: string | readonly string[], cause?: unknown): FerryError {
  const text = typeof problems === 'string' ? problems : problems.join('; ');
  return new FerryError('BUNDLE_REJECTED', `bundle '${source}' rejected: ${text}`, { cause });
}

/**
 * Wraps an error raised while extracting `entryName`: archive-level failures (npm tar's TAR_*
 * codes, corrupt zip data) reject the bundle; file-system failures (ENOSPC, EACCES, …) are
 * INTERNAL. FerryErrors pass through unchanged.
 */
export function extractionError(source: string, err: unknown, entryName?: string): FerryError {
  if (err instanceof FerryError) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  const where = entryName === undefined ? '' : `entry '${entryName}': `;
  const isFsError = typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
  if (isFsError) {
    return new FerryError('INTERNAL', `could not extract bundle '${source}': ${where}${describeError(err)}`, {
      cause: err,
    });
  }
  return bundleRejected(source, `${where}${describeError(err)}`, err);
}
