/** The event log and the audit log, live: each follows its stream and resumes from the last sequence number after a reconnect. */
import { useEffect, useState } from 'preact/hooks';
import { type StreamState, follow } from './api';
import { Link, href } from './router';
import type { AuditRecord, FerryEvent } from './types';
import { Status, VirtualList, time } from './ui';

const KEEP = 20_000;

function useFollow<T>(method: string, request: object): { items: T[]; state: StreamState; message?: string | undefined } {
  const [items, setItems] = useState<T[]>([]);
  const [state, setState] = useState<{ state: StreamState; message?: string | undefined }>({ state: 'connecting' });
  useEffect(() => {
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
  }, [method]);
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

export function AuditPage() {
  const { items, state, message } = useFollow<AuditRecord>('StreamAudit', { follow: true, last: 500 });
  return (
    <section>
      <h1>Audit log <span class={`live live-${state}`}>{state}</span></h1>
      {message && <p class="error">{message}</p>}
      <div class="vhead"><span>Time</span><span>Actor</span><span>Action</span><span>Outcome</span><span>Target</span><span>Peer</span></div>
      <VirtualList label="audit" items={items} rowHeight={30} height={640} row={r => (
        <div class="cells" data-seq={r.seq} title={r.message}>
          <span>{time(r.at)}{r.count > 1 && ` ×${r.count}`}</span><span>{r.actor}</span><span>{r.action}</span>
          <span><Status status={r.outcome} /> {r.code}</span><span class="tags">{r.targetJson}</span><span>{r.peer}</span>
        </div>
      )} />
    </section>
  );
}
