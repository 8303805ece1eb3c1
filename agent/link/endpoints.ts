/**
 * The coordinator addresses an agent may use (`--coordinator a:7420,b:7420,c:7420`): the replicas
 * of a highly available coordinator. The session connects to the current one and moves on to the
 * next when a connection fails or ends; revision downloads, certificate renewal and self-upgrade go
 * to the replica the session is on. Each agent starts at a random replica, so a fleet spreads over
 * them. One address behaves as before. A DNS name with several addresses is one entry here: gRPC
 * resolves it and tries its addresses in order (pick_first).
 */
export class Endpoints {
  private index: number;

  constructor(readonly all: readonly string[], random: () => number = Math.random) {
    if (all.length === 0) throw new Error('Endpoints: no coordinator address');
    this.index = Math.floor(random() * all.length) % all.length;
  }

  /** The replica to use now. */
  current(): string {
    return this.all[this.index]!;
  }

  /** Moves to the next replica (after a failed or ended connection); returns it. */
  next(): string {
    this.index = (this.index + 1) % this.all.length;
    return this.current();
  }

  /** For logs: `a:7420` or `a:7420,b:7420 (on b:7420)`. */
  describe(): string {
    return this.all.length === 1 ? this.current() : `${this.all.join(',')} (on ${this.current()})`;
  }
}

/** An address fixed, or read at each use (the replica the session is on now). */
export type Address = string | (() => string);

export const addressNow = (a: Address): string => (typeof a === 'string' ? a : a());
