import type { AgentMessage } from '../../proto/gen/ferry/v1/AgentMessage.js';
import type { LogLine__Output as LogLine } from '../../proto/gen/ferry/v1/LogLine.js';
import type { EventSink, ExecutorEvent } from '../lifecycle/types.js';
import { eventEnded, eventStarted } from './messages.js';

export interface StreamSinkOptions {
  /** A batch waits at most this long (ms). */
  flushMs: number;
  /** A batch holds at most this many lines… */
  maxLines: number;
  /** …and about this many characters (a hook line can be 64 KiB). */
  maxChars: number;
}

export const STREAM_SINK_DEFAULTS: StreamSinkOptions = { flushMs: 100, maxLines: 200, maxChars: 512 * 1024 };

/**
 * The executor's EventSink for a coordinator-driven deployment: lifecycle events become
 * EventUpdate messages at once; hook output lines are batched into LogBatch messages (every
 * `flushMs`, or at `maxLines`), and a pending batch is always sent before the next EventUpdate,
 * so the coordinator sees an event's output before its end. Agent warnings travel as stderr lines
 * prefixed `ferry-agent warning:` (the proto has no warning field yet).
 */
export class StreamSink implements EventSink {
  private lines: LogLine[] = [];
  private chars = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly o: StreamSinkOptions;

  constructor(private readonly deploymentId: string, private readonly send: (m: AgentMessage) => void, opts: Partial<StreamSinkOptions> = {}) {
    this.o = { ...STREAM_SINK_DEFAULTS, ...opts };
  }

  emit(e: ExecutorEvent): void {
    switch (e.type) {
      case 'log':
        return this.push({ event: e.event, stream: e.stream, line: e.line, atMs: e.at });
      case 'warning':
        return this.push({ event: e.event ?? '', stream: 'stderr', line: `ferry-agent warning: ${e.message}`, atMs: e.at });
      case 'event-start':
        this.flush();
        return this.send({ event: eventStarted(this.deploymentId, e.event, e.at) });
      case 'event-end':
        this.flush();
        return this.send({ event: eventEnded(this.deploymentId, e.result) });
      case 'script-start':
        return; // the script's location is in the event's result when it fails; scripts.log keeps it
    }
  }

  /** Sends the pending lines now (also before the result). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const lines = this.lines;
    this.lines = [];
    this.chars = 0;
    this.send({ logs: { deploymentId: this.deploymentId, lines } });
  }

  private push(line: LogLine): void {
    this.lines.push(line);
    this.chars += line.line.length;
    if (this.lines.length >= this.o.maxLines || this.chars >= this.o.maxChars) return this.flush();
    this.timer ??= setTimeout(() => this.flush(), this.o.flushMs);
  }
}
