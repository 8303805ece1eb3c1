import type { Deployment } from './types.js';

/**
 * The one definition of "awaiting approval": Paused at its approval gate. An operator's pause of a
 * deployment that has a gate is an operator's pause (resume continues it; approve refuses), and
 * a window pause is a window pause. Pure.
 */
export function isAwaitingApproval(d: Pick<Deployment, 'status' | 'pauseKind'>): boolean {
  return d.status === 'Paused' && d.pauseKind === 'approval';
}
