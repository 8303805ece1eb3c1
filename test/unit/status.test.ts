import t from 'tap';
import {
  ACTIVE_DEPLOYMENT_STATUSES, DEPLOYMENT_STATUSES, DEPLOYMENT_TRANSITIONS, EVENT_RECORD_STATUSES,
  EVENT_RECORD_TRANSITIONS, HOST_DEPLOYMENT_STATUSES, HOST_DEPLOYMENT_TRANSITIONS, TERMINAL_DEPLOYMENT_STATUSES,
  TERMINAL_HOST_STATUSES, SETTLED_HOST_STATUSES, allowedFrom, canTransition,
} from '../../coordinator/domain/status.js';

interface Machine {
  name: string;
  statuses: readonly string[];
  table: Readonly<Record<string, readonly string[]>>;
  /** Every allowed move, written out: changing a table means changing this on purpose. */
  arrows: string[];
}

const MACHINES: Machine[] = [
  {
    name: 'deployment',
    statuses: DEPLOYMENT_STATUSES,
    table: DEPLOYMENT_TRANSITIONS,
    arrows: [
      'Created → Queued', 'Created → InProgress', 'Created → Failed', 'Created → Stopped',
      'Queued → InProgress', 'Queued → Failed', 'Queued → Stopped',
      'InProgress → Paused', 'InProgress → Succeeded', 'InProgress → Failed', 'InProgress → Stopped',
      'Paused → InProgress', 'Paused → Failed', 'Paused → Stopped',
    ],
  },
  {
    name: 'host deployment',
    statuses: HOST_DEPLOYMENT_STATUSES,
    table: HOST_DEPLOYMENT_TRANSITIONS,
    arrows: [
      'Pending → InProgress', 'Pending → Skipped', 'Pending → Unknown', 'Pending → Failed',
      'InProgress → Succeeded', 'InProgress → Failed', 'InProgress → Unknown',
      'Unknown → Succeeded', 'Unknown → Failed',
    ],
  },
  {
    name: 'lifecycle event',
    statuses: EVENT_RECORD_STATUSES,
    table: EVENT_RECORD_TRANSITIONS,
    arrows: [
      'Pending → InProgress', 'Pending → Succeeded', 'Pending → Failed', 'Pending → Skipped',
      'InProgress → Succeeded', 'InProgress → Failed',
    ],
  },
];

/** Statuses reachable from `from` by allowed moves (including `from`). */
function reachable(table: Readonly<Record<string, readonly string[]>>, from: string): Set<string> {
  const seen = new Set([from]);
  const queue = [from];
  for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
    for (const next of table[s] ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

const exitless = (m: Machine): string[] => m.statuses.filter(s => (m.table[s] ?? []).length === 0);

for (const m of MACHINES) {
  t.test(`the ${m.name} table allows exactly its arrows, and allowedFrom agrees with canTransition`, async t => {
    t.same(Object.keys(m.table).sort(), [...m.statuses].sort(), 'one row per status');
    const arrows = new Set(m.arrows);
    for (const from of m.statuses) {
      for (const to of m.statuses) {
        const allowed = arrows.has(`${from} → ${to}`);
        t.equal(canTransition(m.table, from, to), allowed, `${from} → ${to} ${allowed ? 'allowed' : 'refused'}`);
        t.equal(allowedFrom(m.table, to).includes(from), allowed, `allowedFrom(${to}) ${allowed ? 'has' : 'lacks'} ${from}`);
      }
    }
  });

  t.test(`every ${m.name} status is reachable from the initial one and can reach an end`, async t => {
    const initial = m.statuses[0] ?? '';
    const fromInitial = reachable(m.table, initial);
    for (const s of m.statuses) t.ok(fromInitial.has(s), `${s} is reachable from ${initial}`);
    const ends = exitless(m);
    for (const s of m.statuses) {
      t.ok([...reachable(m.table, s)].some(r => ends.includes(r)), `${s} can reach an end (${ends.join(', ')})`);
    }
    t.notOk(m.statuses.some(s => (m.table[s] ?? []).includes(s)), 'no status moves to itself');
  });
}

t.test('terminal statuses have no exits', async t => {
  for (const s of TERMINAL_DEPLOYMENT_STATUSES) t.same(DEPLOYMENT_TRANSITIONS[s], [], `deployment ${s} has no exits`);
  t.same(DEPLOYMENT_STATUSES.filter(s => DEPLOYMENT_TRANSITIONS[s].length === 0), [...TERMINAL_DEPLOYMENT_STATUSES], 'and every deployment status without exits is terminal');
  for (const s of TERMINAL_HOST_STATUSES) t.same(HOST_DEPLOYMENT_TRANSITIONS[s], [], `host deployment ${s} has no exits`);
  t.same(HOST_DEPLOYMENT_STATUSES.filter(s => HOST_DEPLOYMENT_TRANSITIONS[s].length === 0), [...TERMINAL_HOST_STATUSES], 'and every host status without exits is terminal');
  t.same(SETTLED_HOST_STATUSES.filter(s => !TERMINAL_HOST_STATUSES.includes(s)), ['Unknown'], 'Unknown is settled for the rollout but not final');
  for (const s of ['Succeeded', 'Failed', 'Skipped'] as const) {
    t.same(EVENT_RECORD_TRANSITIONS[s], [], `lifecycle event ${s} has no exits`);
  }
});

t.test('the active deployment statuses are neither initial nor terminal', async t => {
  for (const s of ACTIVE_DEPLOYMENT_STATUSES) {
    t.not(s, DEPLOYMENT_STATUSES[0], `${s} is not the initial status`);
    t.notOk(TERMINAL_DEPLOYMENT_STATUSES.includes(s), `${s} is not terminal`);
  }
});
