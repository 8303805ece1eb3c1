import path from 'node:path';
import type { HostResult__Output as HostResult } from '../../proto/gen/ferry/v1/HostResult.js';
import type { DeployCommand__Output as DeployCommand } from '../../proto/gen/ferry/v1/DeployCommand.js';
import { JsonDir } from './json-dir.js';

/**
 * The results outbox, `<root>/agent-state/results/<deployment-id>.json`. A host deployment's
 * result is written here BEFORE it is sent, and deleted only when the coordinator acknowledges it
 * (ResultAck). After every (re)registration the session re-sends everything still here, so a
 * result produced while disconnected, or lost with a dropped stream, or left by a crash, arrives.
 * The coordinator must treat a repeated result as a no-op (and ack it again).
 */
export class Outbox {
  private readonly store: JsonDir<HostResult>;

  constructor(stateDir: string) {
    this.store = new JsonDir(path.join(stateDir, 'results'));
  }

  get dir(): string {
    return this.store.dir;
  }

  put(result: HostResult): Promise<void> {
    return this.store.put(result.deploymentId, result);
  }

  get(deploymentId: string): Promise<HostResult | undefined> {
    return this.store.get(deploymentId);
  }

  /** Removes an acknowledged result; false when there was none (a repeated ack). */
  ack(deploymentId: string): Promise<boolean> {
    return this.store.remove(deploymentId);
  }

  /** Removes temp files a crash or a full disk left behind. */
  pruneTemp(): Promise<number> {
    return this.store.pruneTemp();
  }

  /** Unacknowledged results, oldest first. */
  async list(): Promise<{ results: HostResult[]; unreadable: string[] }> {
    const { docs, unreadable } = await this.store.list();
    return { results: docs.map(d => d.doc), unreadable };
  }
}

export interface AcceptedCommand {
  command: DeployCommand;
  acceptedAt: string;
}

/**
 * Accepted deploy commands, `<root>/agent-state/commands/<deployment-id>.json`: written when a
 * DeployCommand is accepted, removed once its result is in the outbox. At start-up a command
 * still here was never finished: it is re-run (it never started, or it was interrupted in
 * DownloadBundle, where nothing on the host had been touched) or its recovered result is reported.
 */
export class CommandStore {
  private readonly store: JsonDir<AcceptedCommand>;

  constructor(stateDir: string) {
    this.store = new JsonDir(path.join(stateDir, 'commands'));
  }

  save(command: DeployCommand, now: number): Promise<void> {
    return this.store.put(command.deploymentId, { command, acceptedAt: new Date(now).toISOString() });
  }

  remove(deploymentId: string): Promise<boolean> {
    return this.store.remove(deploymentId);
  }

  /** Removes temp files a crash or a full disk left behind. */
  pruneTemp(): Promise<number> {
    return this.store.pruneTemp();
  }

  async list(): Promise<{ commands: AcceptedCommand[]; unreadable: string[] }> {
    const { docs, unreadable } = await this.store.list();
    return { commands: docs.map(d => d.doc), unreadable };
  }
}
