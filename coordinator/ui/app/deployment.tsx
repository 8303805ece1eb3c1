/**
 * One deployment, live: WatchDeployment over server-sent events sends the deployment as it
 * changes (a reconnect gets the current state at once). Overall progress, why it waits, each host's
 * lifecycle events with durations and error codes, and a host's hook output, live (StreamLogs,
 * resumed after a reconnect from the last line's sequence number).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { type StreamState, follow } from './api';
import { DeploymentActions } from './actions';
import { Link, href } from './router';
import type { DeploymentDetail, HostDeployment, LogEntry } from './types';
import { Loading, Status, VirtualList, duration, short, time } from './ui';

export function DeploymentPage(props: { id: string; host?: string | undefined; allowed: string[] }) {
  const [detail, setDetail] = useState<DeploymentDetail>();
  const [stream, setStream] = useState<{ state: StreamState; message?: string | undefined }>({ state: 'connecting' });
  const [generation, setGeneration] = useState(0);
  useEffect(() => setDetail(undefined), [props.id]);
  // After an action the page follows again (a finished deployment's stream has ended); what it shows stays meanwhile.
  useEffect(() => follow<DeploymentDetail>('WatchDeployment', { id: props.id }, setDetail, (state, message) => setStream({ state, message })), [props.id, generation]);
  if (!detail) return <Loading error={stream.state === 'failed' ? stream.message ?? 'the deployment cannot be read' : undefined} />;
  const d = detail.deployment;
  return (
    <section>
      <h1>Deployment {d.id} <Status status={d.status} /> <span class={`live live-${stream.state}`} data-stream={stream.state}>{stream.state === 'live' ? 'live' : stream.state}</span></h1>
      <dl class="facts">
        <dt>Group</dt><dd><Link href={href.group(d.application, d.groupName)}>{d.application} / {d.groupName}</Link></dd>
        <dt>Revision</dt><dd title={d.revision}><code>{short(d.revision)}</code></dd>
        <dt>Config</dt><dd>{d.configName} (at least {d.minHealthyHosts} healthy)</dd>
        <dt>Created</dt><dd>{time(d.createdAt)} by <span data-testid="created-by">{d.createdBy || d.creator}</span>{d.createdBy && ` (${d.creator})`}</dd>
        <dt>Started</dt><dd>{time(d.startedAt)}</dd>
        <dt>Completed</dt><dd>{time(d.completedAt)}</dd>
        {d.description && <><dt>Description</dt><dd>{d.description}</dd></>}
        {d.rollbackOf && <><dt>Rolls back</dt><dd><Link href={href.deployment(d.rollbackOf)}>{d.rollbackOf}</Link></dd></>}
        {d.rolledBackBy && <><dt>Rolled back by</dt><dd><Link href={href.deployment(d.rolledBackBy)}>{d.rolledBackBy}</Link></dd></>}
      </dl>
      <Waiting detail={detail} />
      {d.errorMessage && <p class="error" data-testid="deployment-error">{d.errorCode}: {d.errorMessage}</p>}
      <Progress detail={detail} />
      <DeploymentActions detail={detail} allowed={props.allowed} onDone={() => setGeneration(g => g + 1)} />
      <HostTable detail={detail} selected={props.host} />
      {props.host && <HostPanel detail={detail} hostId={props.host} />}
    </section>
  );
}

function Waiting(props: { detail: DeploymentDetail }) {
  const d = props.detail.deployment;
  const why = d.awaitingApproval ? `Awaiting approval: ${d.pauseReason}` : d.pauseReason || d.waitReason;
  if (!why && !d.nextWindowAt) return null;
  return <p class="waiting" data-testid="waiting">{why}{d.nextWindowAt && ` (next window ${time(d.nextWindowAt)})`}</p>;
}

function Progress(props: { detail: DeploymentDetail }) {
  const o = props.detail.overview;
  const total = o.pending + o.inProgress + o.succeeded + o.failed + o.skipped + o.unknown;
  const done = total - o.pending - o.inProgress;
  const pct = total ? Math.round((100 * done) / total) : 0;
  return (
    <div class="progress-box">
      <div class="progress" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
        <div class="bar ok" style={{ width: `${total ? (100 * o.succeeded) / total : 0}%` }} />
        <div class="bar bad" style={{ width: `${total ? (100 * (o.failed + o.unknown)) / total : 0}%` }} />
        <div class="bar skip" style={{ width: `${total ? (100 * o.skipped) / total : 0}%` }} />
      </div>
      <p data-testid="overview">{done} of {total} hosts done: {o.succeeded} succeeded, {o.failed} failed, {o.inProgress} in progress, {o.pending} pending, {o.skipped} skipped, {o.unknown} unknown</p>
    </div>
  );
}

const lastDuration = (h: HostDeployment) => h.events.reduce((s, e) => s + (e.durationMs || 0), 0);

function HostTable(props: { detail: DeploymentDetail; selected?: string | undefined }) {
  const id = props.detail.deployment.id;
  const zones = useMemo(() => [...new Set(props.detail.hosts.map(h => h.zone).filter(Boolean))], [props.detail]);
  return (
    <>
      <h2>Hosts ({props.detail.hosts.length}){zones.length > 0 && `, zones ${zones.join(', ')}`}</h2>
      <div class="vhead"><span>Host</span><span>Zone</span><span>Status</span><span>Event</span><span>Error</span><span>Time</span></div>
      <VirtualList label="hosts" items={props.detail.hosts} rowHeight={30} height={420} row={h => (
        <div class={`cells ${h.hostId === props.selected ? 'selected' : ''}`} data-host={h.hostId}>
          <span title={h.hostname}><Link href={href.deploymentHost(id, h.hostId)}>{h.hostId}</Link>{h.hostname && h.hostname !== h.hostId && <span class="tags"> {h.hostname}</span>}</span>
          <span>{h.zone || '—'}</span>
          <span><Status status={h.status} /></span>
          <span>{h.currentEvent || '—'}</span>
          <span class="error-code">{h.errorCode}</span>
          <span>{duration(lastDuration(h))}</span>
        </div>
      )} />
    </>
  );
}

function HostPanel(props: { detail: DeploymentDetail; hostId: string }) {
  const h = props.detail.hosts.find(x => x.hostId === props.hostId);
  const id = props.detail.deployment.id;
  const [lines, setLines] = useState<LogEntry[]>([]);
  const [state, setState] = useState<StreamState>('connecting');
  useEffect(() => {
    setLines([]);
    return follow<LogEntry>('StreamLogs', { deploymentId: id, hostId: props.hostId, follow: true }, l => setLines(ls => (ls.length >= 5000 ? [...ls.slice(-4000), l] : [...ls, l])), s => setState(s));
  }, [id, props.hostId]);
  if (!h) return <p class="error">Host {props.hostId} is not a target of {id}.</p>;
  return (
    <section class="host-panel" data-testid="host-panel">
      <h2>{h.hostId} <Status status={h.status} /> <Link href={href.host(h.hostId)}>host page</Link></h2>
      {h.errorMessage && <p class="error" data-testid="host-error">{h.errorCode}: {h.errorMessage}</p>}
      <table class="events">
        <thead><tr><th>Lifecycle event</th><th>Status</th><th>Duration</th><th>Error code</th><th>Exit</th><th>Message</th></tr></thead>
        <tbody>
          {h.events.map(e => (
            <tr key={e.name} data-event={e.name}>
              <td>{e.name}</td><td><Status status={e.status} /></td><td>{duration(e.durationMs)}</td><td class="error-code">{e.errorCode}</td>
              <td>{e.status === 'Failed' ? e.exitCode : ''}</td><td>{e.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Hook output <span class={`live live-${state}`}>{state}</span></h3>
      <pre class="logs" data-testid="logs">{lines.length === 0 ? '(no output yet)' : lines.map(l => `[${l.event}] ${l.stream === 'stderr' ? '! ' : ''}${l.line}`).join('\n')}</pre>
    </section>
  );
}
