/**
 * Simulated hosts for fleet-size tests: each speaks the real AgentService protocol (one Connect
 * stream: Register, heartbeats, event updates, a result) to a real --insecure coordinator, and
 * "runs" every lifecycle event by reporting it Succeeded after a short random pause. Nothing is
 * downloaded or installed. A few grpc-js channels carry all the streams, in a process of their own
 * (startSimAgents): in the test's process they would wait behind its browser driving.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadFerryProto } from '../../proto/load.js';
import type { AgentMessage } from '../../proto/gen/ferry/v1/AgentMessage.js';
import type { AgentServiceClient } from '../../proto/gen/ferry/v1/AgentService.js';
import type { CoordinatorMessage__Output } from '../../proto/gen/ferry/v1/CoordinatorMessage.js';

const EVENTS = ['ApplicationStop', 'DownloadBundle', 'BeforeInstall', 'Install', 'AfterInstall', 'ApplicationStart', 'ValidateService'];

export interface SimFleet {
  close(): void;
}

export interface SimOptions {
  count: number;
  prefix: string;
  tags: Record<string, string>;
  zones?: number;
  eventMs?: number;
  channels?: number;
}

/** The simulated hosts in a child process (this module run as a program), ended with the test. */
export function startSimAgents(t: Teardown, address: string, o: SimOptions): void {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), address, JSON.stringify(o)], { stdio: ['ignore', 'ignore', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** `count` hosts `<prefix>1…`, tags `tags`, zones z1…z`zones`, each event taking up to `eventMs`. */
export function runSimAgents(t: Teardown, address: string, o: SimOptions): SimFleet {
  const proto = loadFerryProto();
  const clients: AgentServiceClient[] = Array.from({ length: o.channels ?? 8 }, () =>
    new proto.ferry.v1.AgentService(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as AgentServiceClient);
  const timers = new Set<NodeJS.Timeout>();
  const streams: grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output>[] = [];
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  for (let i = 1; i <= o.count; i++) {
    const hostId = `${o.prefix}${i}`;
    const call = clients[i % clients.length]!.Connect();
    streams.push(call);
    call.on('error', () => {});
    const send = (m: AgentMessage) => {
      if (!call.writableEnded) call.write(m);
    };
    send({ register: { hostId, hostname: hostId, tags: o.tags, zone: o.zones ? `z${1 + (i % o.zones)}` : '', agentVersion: 'sim' } });
    call.on('data', (m: CoordinatorMessage__Output) => {
      if (m.registered) {
        const beat = setInterval(() => send({ heartbeat: { sentAtMs: Date.now() } }), m.registered.heartbeatIntervalMs || 5000);
        timers.add(beat);
      } else if (m.deploy) {
        const d = m.deploy;
        const events = d.events.length > 0 ? d.events : EVENTS;
        let at = 0;
        const done: NonNullable<AgentMessage['event']>[] = [];
        for (const event of events) {
          const ms = Math.round(Math.random() * (o.eventMs ?? 200));
          const startedAt = new Date(Date.now() + at).toISOString();
          later(at, () => send({ event: { deploymentId: d.deploymentId, event, status: 'InProgress', startedAt } }));
          at += ms;
          const update = { deploymentId: d.deploymentId, event, status: 'Succeeded', startedAt, endedAt: new Date(Date.now() + at).toISOString(), durationMs: ms };
          done.push(update);
          later(at, () => send({ event: update }));
        }
        later(at + 1, () => send({ result: { deploymentId: d.deploymentId, status: 'Succeeded', events: done, revisionDigest: d.revisionDigest } }));
      }
    });
  }
  const fleet = {
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      for (const s of streams) s.cancel();
      for (const c of clients) c.close();
    },
  };
  t.teardown(() => fleet.close());
  return fleet;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runSimAgents({ teardown: () => {} }, process.argv[2]!, JSON.parse(process.argv[3]!) as SimOptions);
}
