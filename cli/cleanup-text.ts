import type { DeleteResponse__Output } from '../proto/gen/ferry/v1/DeleteResponse.js';

const n = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** What a delete removed, as one clause ("2 deployment groups, 7 deployments (history and logs), …"). Pure. */
export function removedText(r: DeleteResponse__Output, withGroups: boolean): string {
  return [
    ...(withGroups ? [n(r.groups, 'deployment group')] : []),
    `${n(r.deployments, 'deployment')} (history and logs)`, n(r.triggers, 'webhook trigger'), n(r.schedules, 'schedule'), n(r.plans, 'plan'),
    ...(withGroups ? [n(r.revisions, 'revision')] : []),
  ].join(', ');
}
