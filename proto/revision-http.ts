/**
 * The revision download's HTTP contract, shared by the coordinator's handler
 * (coordinator/revisions/http-download.ts) and the agent's transport (agent/link/http-transport.ts),
 * beside the gRPC contract in proto/ferry/v1: `GET /v1/revisions/<sha256>`, `Range: bytes=N-`.
 */
export const REVISION_PATH = '/v1/revisions/';
/**
 * On every answer of the coordinator's download handler, errors included: an agent takes an answer
 * without it for a proxy or an older coordinator in between (and falls back to FetchRevision).
 */
export const MARK_HEADER = 'x-ferry-revisions';
/** The header a host names itself in (for the coordinator's log; with TLS its certificate is what counts). */
export const HOST_HEADER = 'x-ferry-host-id';
