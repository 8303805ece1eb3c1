import type { ChunkReader, EncodedChunk } from './chunk-frames.js';

/** downloadStallTimeout's default (coordinator/config.ts), for a context without limits. */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;

/**
 * The sending loop both download paths share (FetchRevision and GET /v1/revisions/…): each chunk
 * goes to `write`, whose `done` runs once the transport has taken its bytes; the chunk's buffer then
 * goes back to the pool. A client that takes nothing for `stallTimeoutMs` while chunks wait for it
 * (docs/security.md, "Streams and downloads") is cut (`cut`: reset the stream or destroy the socket)
 * and its buffers returned at once, so stalled readers cannot keep the shared pool. Time spent
 * waiting for a buffer from the pool is not the client's and does not count.
 */
export async function pumpChunks(
  reader: ChunkReader,
  write: (chunk: EncodedChunk, done: () => void) => void,
  o: { stallTimeoutMs: number; cut: () => void; served: (bytes: number) => void },
): Promise<void> {
  let outstanding = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      o.cut();
      reader.abandon();
    }, o.stallTimeoutMs);
  };
  for (let chunk = await reader.next(); chunk; chunk = await reader.next()) {
    const sent = chunk;
    if (outstanding === 0) arm();
    outstanding += 1;
    let completed = false;
    write(sent, () => {
      if (completed) return;
      completed = true;
      reader.release(sent);
      outstanding -= 1;
      // Progress: the clock starts again for what is still waiting, and stops when nothing is.
      if (outstanding === 0) clearTimeout(timer);
      else arm();
    });
    o.served(sent.data.length);
  }
  // The last writes may still be waiting for the client: the timer stays armed until they complete.
  if (outstanding === 0) clearTimeout(timer);
}
