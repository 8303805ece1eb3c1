import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as AgentProto } from './gen/agent.js';
import type { ProtoGrpcType as ControlProto } from './gen/control.js';

/**
 * Loads `proto/ferry/v1/*.proto` at run time, with the same options the generated types
 * (`proto/gen`, made by `npm run gen`) were built with.
 */
export const PROTO_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The files loaded, relative to protoDir(). */
export const PROTO_FILES = ['ferry/v1/agent.proto', 'ferry/v1/control.proto'];

/**
 * Set by esbuild's `define` when the agent binary is bundled (ops/agent-binary/bundle.ts): the
 * protobuf.js JSON of PROTO_FILES, parsed with PROTO_OPTIONS at build time, as the binary has no
 * .proto files beside it.
 */
declare const FERRY_PROTO_JSON: Record<string, unknown> | undefined;

export function protoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // From source (proto/load.ts) or from the build (dist/proto/load.js).
  for (const dir of [here, path.resolve(here, '..', '..', 'proto')]) {
    if (existsSync(path.join(dir, 'ferry', 'v1', 'agent.proto'))) return dir;
  }
  throw new Error(`cannot find proto/ferry/v1/*.proto near ${here}`);
}

export type FerryProto = AgentProto & ControlProto;

let cached: FerryProto | undefined;
let agentOnly: AgentProto | undefined;

function load(files: string[]): grpc.GrpcObject {
  const def = typeof FERRY_PROTO_JSON === 'object' && FERRY_PROTO_JSON !== null
    ? protoLoader.fromJSON(FERRY_PROTO_JSON, PROTO_OPTIONS)
    : protoLoader.loadSync(files, { ...PROTO_OPTIONS, includeDirs: [protoDir()] });
  return grpc.loadPackageDefinition(def);
}

export function loadFerryProto(): FerryProto {
  cached ??= load(PROTO_FILES) as unknown as FerryProto;
  return cached;
}

/**
 * agent.proto alone: all the agent speaks. control.proto (four times its size) is the CLI's and
 * the coordinator's; parsing it into an agent would only cost memory it keeps for its whole life.
 */
export function loadAgentProto(): AgentProto {
  agentOnly ??= (cached ?? load([PROTO_FILES[0]!])) as unknown as AgentProto;
  return agentOnly;
}

/**
 * Keepalive on both sides: a partitioned stream fails within ~30 s instead of stalling forever.
 * A ping's deadline is judged on the pinger's event loop against acks the other side sends from
 * its own: when the coordinator lags (a starved CPU, a burst of a hundred hosts' results, a slow
 * disk), the acks come late or wait unread. At 5 s, healthy clients were dropped all at once
 * ("Connection dropped" in `npm run bench -- allatonce` on a loaded machine), agents reconnected
 * and added load. 20 s is gRPC's own default deadline; partitions between heartbeats are also
 * found by the agents' heartbeats (services/liveness.ts).
 */
export const KEEPALIVE_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 4000,
};

/**
 * Server-side keepalive: the clients' pings accepted often; the coordinator's own pings only every
 * 60 s, with a long deadline. A frozen or partitioned agent's stream is dropped by its missing
 * heartbeats (services/liveness.ts dropSilentStreams, after 3 intervals and at least 30 s, on a
 * clock that does not count the coordinator's lag), so these pings only reap connections whose
 * peer vanished: every 10 s they were 1,000 pings a second at 10,000 agents on their own
 * connections, 2.5 points of a core idle (bench/README.md). 30 s deadline: the coordinator judges
 * the ack on its own event loop, and one loop stalled past the deadline (1,000 hosts registering at
 * once on a machine at load 43) dropped whole connections — hundreds of healthy agents' streams
 * each, all reconnecting at once (`npm run bench -- fleet`).
 */
export const SERVER_KEEPALIVE_OPTIONS: grpc.ChannelOptions = {
  ...KEEPALIVE_OPTIONS,
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 30_000,
  'grpc.http2.min_ping_interval_without_data_ms': 1000,
  'grpc.http2.max_ping_strikes': 0,
};

/** Large flow-control window for revision transfer (see docs/design/stack.md §3): ~2× throughput. */
export const TRANSFER_CLIENT_OPTIONS: grpc.ChannelOptions = {
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
  'grpc.max_receive_message_length': 8 * 1024 * 1024,
};
