/**
 * The event log and the audit log, live: each follows its stream and resumes from the last sequence
 * number after a reconnect. The audit log filters by actor, action and outcome on the coordinator
 * (StreamAudit's own filters, as `ferry audit`), and keeps them in the URL so a filtered view is a link.
 */
import { useEffect, useState } from 'preact/hooks';
import { type StreamState, follow } from './api';
import { Link, href } from './router';
import type { AuditRecord, FerryEvent } from './types';
import { Status, VirtualList, time } from './ui';

const KEEP = 20_000;

function useFollow<T>(method: string, request: object): { items: T[]; state: StreamState; message?: string | undefined } {
  const [items, setItems] = useState<T[]>([]);
  const [state, setState] = useState<{ state: StreamState; message?: string | undefined }>({ state: 'connecting' });
  const key = JSON.stringify(request);
  useEffect(() => {
    setItems([]);
    let buffer: T[] = [];
    let timer: number | undefined;
    // Messages arrive in bursts (a replay of thousands): draw at most ten times a second.
    const flush = () => {
      timer = undefined;
      const add = buffer;
      buffer = [];
      setItems(old => [...add.reverse(), ...old].slice(0, KEEP));
    };
    const stop = follow<T>(method, request, m => {
      buffer.push(m);
      timer ??= window.setTimeout(flush, 100);
    }, (s, message) => setState({ state: s, message }));
    return () => {
      stop();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [method, key]);
  return { items, ...state };
}

export function EventsPage() {
  const { items, state, message } = useFollow<FerryEvent>('StreamEvents', { follow: true });
  return (
    <section>
      <h1>Events <span class={`live live-${state}`}>{state}</span></h1>
      {message && <p class="error">{message}</p>}
      <div class="vhead"><span>Seq</span><span>Time</span><span>Kind</span><span>Group</span><span>Deployment / host</span><span>Status</span></div>
      <VirtualList label="events" items={items} rowHeight={30} height={640} row={e => (
        <div class="cells" data-seq={e.seq}>
          <span>{e.seq}</span><span>{time(e.at)}</span><span>{e.kind}{e.lifecycleEvent && ` ${e.lifecycleEvent}`}</span>
          <span><Link href={href.group(e.application, e.groupName)}>{e.application} / {e.groupName}</Link></span>
          <span>{e.deploymentId && <Link href={e.hostId ? href.deploymentHost(e.deploymentId, e.hostId) : href.deployment(e.deploymentId)}>{e.deploymentId}{e.hostId && ` @ ${e.hostId}`}</Link>}</span>
          <span><Status status={e.status} /></span>
        </div>
      )} />
    </section>
  );
}

const AUDIT_FILTERS = ['actor', 'action', 'outcome'] as const;
type AuditFilter = Record<(typeof AUDIT_FILTERS)[number], string>;

function filtersFromUrl(): AuditFilter {
  const q = new URLSearchParams(location.search);
  return { actor: q.get('actor') ?? '', action: q.get('action') ?? '', outcome: q.get('outcome') ?? '' };
}

export function AuditPage() {
  const [applied, setApplied] = useState<AuditFilter>(filtersFromUrl);
  const [draft, setDraft] = useState<AuditFilter>(applied);
  const { items, state, message } = useFollow<AuditRecord>('StreamAudit', { follow: true, last: 500, ...applied });
  const apply = (f: AuditFilter) => {
    const q = new URLSearchParams(Object.entries(f).filter(([, v]) => v.trim() !== '').map(([k, v]) => [k, v.trim()]));
    history.replaceState(null, '', `/ui/audit${q.size > 0 ? `?${q}` : ''}`);
    setApplied({ actor: f.actor.trim(), action: f.action.trim(), outcome: f.outcome });
  };
  const set = (k: keyof AuditFilter) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });
  return (
    <section>
      <h1>Audit log <span class={`live live-${state}`}>{state}</span></h1>
      <form class="filters" data-testid="audit-filters" onSubmit={e => (e.preventDefault(), apply(draft))}>
        <label>Actor <input name="actor" value={draft.actor} onInput={set('actor')} placeholder="token:…" /></label>
        <label>Action <input name="action" value={draft.action} onInput={set('action')} placeholder="CreateDeployment" /></label>
        <label>Outcome <select name="outcome" value={draft.outcome} onChange={set('outcome')}>
          <option value="">any</option><option>ok</option><option>failed</option><option>refused</option>
        </select></label>
        <button type="submit">Filter</button>
        <button type="button" onClick={() => (setDraft({ actor: '', action: '', outcome: '' }), apply({ actor: '', action: '', outcome: '' }))}>Clear</button>
      </form>
      {message && <p class="error">{message}</p>}
      <div class="vhead"><span>Time</span><span>Actor</span><span>Action</span><span>Outcome</span><span>Target</span><span>Peer</span></div>
      <VirtualList label="audit" items={items} rowHeight={30} height={640} row={r => (
        <div class="cells" data-seq={r.seq} title={r.message}>
          <span>{time(r.at)}{r.count > 1 && ` ×${r.count}`}</span><span data-field="actor">{r.actor}</span><span data-field="action">{r.action}</span>
          <span data-field="outcome"><Status status={r.outcome} /> {r.code}</span><span class="tags">{r.targetJson}</span><span>{r.peer}</span>
        </div>
      )} />
    </section>
  );
}
