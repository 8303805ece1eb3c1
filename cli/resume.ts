import { EXIT, exitCodeForError } from './exit-codes.js';
import type { Session } from './session.js';

/** How long a `--follow` keeps trying to reach a coordinator that went away before it exits 6. */
export const RESUME_WINDOW_MS = 5 * 60_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;
/** A stream that ran this long before it broke counts as a fresh loss (the window starts again). */
const HEALTHY_STREAM_MS = 2_000;

export interface ResumeOptions<T> {
  /** What is followed, for the notes ("events", "hook output of d-123"). */
  what: string;
  /** Opens the stream from after this seq. */
  open: (afterSeq: number) => AsyncIterable<T>;
  /** Absent: every message is whole (WatchDeployment's details), so each one after a reconnect is new. */
  seqOf?: (item: T) => number;
  /** The seq to start after. */
  after: number;
  /** The server ends this stream only when asked (StreamEvents with follow): an end is a break too. */
  endIsBreak: boolean;
  /** Aborted: the caller is done (a --timeout); the stream ends without reconnecting. */
  signal?: AbortSignal;
}

/**
 * `events --follow`, `deploy logs --follow`: a stream keyed by sequence numbers that survives a
 * coordinator restart. When the stream breaks off (UNAVAILABLE), it says so on stderr and opens
 * the stream again after the last seq it yielded — so nothing is lost or repeated — retrying with
 * backoff (250 ms doubling to 5 s) for up to RESUME_WINDOW_MS, then gives up with the error (exit 6).
 */
export async function* resumable<T>(s: Session, o: ResumeOptions<T>): AsyncGenerator<T> {
  let after = o.after;
  let lostAt: number | undefined;
  let delay = FIRST_RETRY_MS;
  for (;;) {
    const opened = s.now;
    try {
      for await (const item of o.open(after)) {
        if (o.seqOf) {
          const seq = o.seqOf(item);
          if (seq <= after) continue;
          after = seq;
        }
        yield item;
      }
      if (!o.endIsBreak || o.signal?.aborted) return;
    } catch (err) {
      if (o.signal?.aborted || exitCodeForError(err) !== EXIT.unavailable) throw err;
      if (lostAt !== undefined && s.now - opened >= HEALTHY_STREAM_MS) lostAt = undefined;
      if (lostAt === undefined) {
        lostAt = s.now;
        delay = FIRST_RETRY_MS;
        const where = o.seqOf ? ` (after seq ${after})` : '';
        s.out.error(`ferry: lost the coordinator while following ${o.what}${where}; reconnecting, for up to ${RESUME_WINDOW_MS / 60_000} min`);
      } else if (s.now - lostAt > RESUME_WINDOW_MS) {
        throw err;
      }
    }
    if (o.signal?.aborted) return;
    await new Promise(resolve => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, MAX_RETRY_MS);
  }
}
