import type { AppSpec } from '../../common/appspec/types.js';
import { LIFECYCLE_EVENTS, PHASE_SOURCE } from '../../common/lifecycle/events.js';
import type { PlannedHook } from './types.js';

/** The host's current revision as far as hooks go: its digest and appspec, or what is not known. */
export type PreviousRevision =
  | { type: 'none' }
  | { type: 'unknown' }
  | { type: 'known'; digest: string; spec?: AppSpec };

/**
 * The lifecycle events a host would run, in order, each with the revision its scripts come from
 * (the phase table the agent runs, `common/lifecycle/events.ts`): ApplicationStop and the block-traffic
 * events run the host's CURRENT revision's scripts and are skipped on a first install; the rest
 * run the new revision's. Events without scripts are left out; DownloadBundle and Install (Ferry's
 * own steps) are always listed.
 */
export function plannedHooks(previous: PreviousRevision, next: { digest: string; spec: AppSpec }): PlannedHook[] {
  const hooks: PlannedHook[] = [];
  for (const event of LIFECYCLE_EVENTS) {
    const source = PHASE_SOURCE[event];
    if (source === 'agent') {
      hooks.push({ event, source, revision: next.digest, scripts: [] });
      continue;
    }
    if (source === 'current') {
      const scripts = next.spec.hooks[event] ?? [];
      if (scripts.length > 0) hooks.push({ event, source, revision: next.digest, scripts: scripts.map(toScript) });
      continue;
    }
    if (previous.type === 'none') continue;
    if (previous.type === 'unknown') {
      // The coordinator does not know the host's installed revision: say the event may run.
      if (event === 'ApplicationStop') hooks.push({ event, source, revision: '', scripts: [] });
      continue;
    }
    const scripts = previous.spec?.hooks[event] ?? [];
    if (scripts.length > 0) hooks.push({ event, source, revision: previous.digest, scripts: scripts.map(toScript) });
  }
  return hooks;
}

function toScript(s: { location: string; timeoutSeconds: number; runas?: string }) {
  return { location: s.location, timeoutSeconds: s.timeoutSeconds, ...(s.runas !== undefined && { runas: s.runas }) };
}
