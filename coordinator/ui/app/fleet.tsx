/** Hosts (a virtualized list: 1,000 hosts draw as fast as 10), one host, applications and groups, one group. */
import { useMemo, useState } from 'preact/hooks';
import { Link, href } from './router';
import { DeploymentTable } from './deployments';
import type { Deployment, Group, HostDeployment, HostInfo, TagSet } from './types';
import { Loading, Status, VirtualList, short, time, useCall } from './ui';

export function HostsPage() {
  const hosts = useCall<{ hosts: HostInfo[] }>('ListHosts', {});
  const [filter, setFilter] = useState('');
  const shown = useMemo(() => {
    const all = hosts.data?.hosts ?? [];
    const q = filter.trim().toLowerCase();
    return q ? all.filter(h => `${h.id} ${h.hostname} ${h.state} ${h.zone} ${Object.entries(h.tags).map(([k, v]) => `${k}=${v}`).join(' ')}`.toLowerCase().includes(q)) : all;
  }, [hosts.data, filter]);
  if (!hosts.data) return <Loading error={hosts.error} />;
  return (
    <section>
      <h1>Hosts ({shown.length} of {hosts.data.hosts.length})</h1>
      <p><input type="search" name="filter" placeholder="filter: id, tag, zone, state" value={filter} onInput={e => setFilter((e.currentTarget as HTMLInputElement).value)} /> <button type="button" onClick={hosts.reload}>Refresh</button></p>
      <div class="vhead"><span>Host</span><span>State</span><span>Agent</span><span>Zone</span><span>Tags</span><span>Last seen</span></div>
      <VirtualList label="hosts" items={shown} rowHeight={30} height={600} row={h => (
        <div class="cells" data-host={h.id}>
          <span><Link href={href.host(h.id)}>{h.id}</Link></span>
          <span><Status status={h.state || (h.connected ? 'connected' : 'offline')} /></span>
          <span>{h.agentVersion}</span>
          <span>{h.zone || '—'}</span>
          <span class="tags">{Object.entries(h.tags).map(([k, v]) => `${k}=${v}`).join(' ')}</span>
          <span>{time(h.lastSeenAt)}</span>
        </div>
      )} />
    </section>
  );
}

export function HostPage(props: { id: string }) {
  const host = useCall<HostInfo>('GetHost', { id: props.id }, [props.id]);
  const history = useCall<{ hostResults: HostDeployment[]; deployments: Deployment[] }>('ListDeployments', { host: props.id, limit: 50 }, [props.id]);
  if (!host.data) return <Loading error={host.error} />;
  const h = host.data;
  const f = h.facts;
  return (
    <section>
      <h1>Host {h.id} <Status status={h.state || (h.connected ? 'connected' : 'offline')} /></h1>
      <dl class="facts">
        <dt>Hostname</dt><dd>{h.hostname}</dd>
        <dt>Agent</dt><dd>{h.agentVersion}</dd>
        <dt>Zone</dt><dd>{h.zone || '—'}</dd>
        <dt>Tags</dt><dd>{Object.entries(h.tags).map(([k, v]) => `${k}=${v}`).join(', ') || '—'}</dd>
        <dt>Last seen</dt><dd>{time(h.lastSeenAt)}</dd>
        <dt>Registered</dt><dd>{time(h.registeredAt)}</dd>
        {f && <><dt>Facts</dt><dd>{f.os} {f.kernel} {f.arch}, {f.cpus} CPUs, {Math.round(f.memoryBytes / 2 ** 20)} MiB, disk {Math.round(f.diskFreeBytes / 2 ** 30)} of {Math.round(f.diskTotalBytes / 2 ** 30)} GiB free</dd></>}
      </dl>
      <h2>Alarms</h2>
      {h.alarms.length === 0 ? <p class="muted">No alarm reported by this host's agent.</p> : (
        <table data-testid="host-alarms">
          <thead><tr><th>Alarm</th><th>State</th><th>Since</th><th>Reason</th></tr></thead>
          <tbody>{h.alarms.map(a => (
            <tr key={a.name} data-alarm={a.name}><td>{a.name}</td><td><Status status={a.state} /></td><td>{time(a.since)}</td><td>{a.reason || '—'}</td></tr>
          ))}</tbody>
        </table>
      )}
      <h2>Revision per group</h2>
      <table>
        <thead><tr><th>Group</th><th>Revision</th><th>Last status</th></tr></thead>
        <tbody>{h.revisions.map(r => (
          <tr key={r.groupId}><td><Link href={href.group(r.application, r.groupName)}>{r.application} / {r.groupName}</Link></td><td><code>{short(r.revision)}</code></td><td><Status status={r.lastStatus} /></td></tr>
        ))}</tbody>
      </table>
      <h2>Deployment history</h2>
      {!history.data ? <Loading error={history.error} /> : (
        <table>
          <thead><tr><th>Deployment</th><th>Status here</th><th>Error</th><th>Started</th></tr></thead>
          <tbody>{history.data.deployments.map((d, i) => {
            // hostResults is in the order of deployments (proto/ferry/v1/control.proto).
            const r = history.data!.hostResults[i];
            return (
              <tr key={d.id}><td><Link href={href.deploymentHost(d.id, h.id)}>{d.id}</Link> ({d.application} / {d.groupName})</td>
                <td><Status status={r?.status ?? d.status} /></td><td class="error-code">{r?.errorCode}</td><td>{time(r?.startedAt ?? d.startedAt)}</td></tr>
            );
          })}</tbody>
        </table>
      )}
    </section>
  );
}

const tagSetText = (sets: TagSet[]) => sets.map(s => s.filters.map(f => (f.hasKey && f.hasValue ? `${f.key}=${f.value}` : f.hasKey ? f.key : `=${f.value}`)).join(' or ')).join(' and ') || '—';

export function ApplicationsPage() {
  const groups = useCall<{ groups: Group[] }>('ListDeploymentGroups', {});
  const apps = useCall<{ applications: { name: string; createdAt: string }[] }>('ListApplications', {});
  if (!groups.data || !apps.data) return <Loading error={groups.error ?? apps.error} />;
  return (
    <section>
      <h1>Applications and groups</h1>
      {apps.data.applications.map(a => (
        <div key={a.name}>
          <h2>{a.name}</h2>
          <table>
            <thead><tr><th>Group</th><th>Tag sets</th><th>Config</th><th>Hosts</th><th>Target revision</th></tr></thead>
            <tbody>{groups.data!.groups.filter(g => g.application === a.name).map(g => (
              <tr key={g.id}><td><Link href={href.group(g.application, g.name)}>{g.name}</Link></td><td>{tagSetText(g.tagSets)}</td><td>{g.configName}</td>
                <td>{g.matchingHostIds.length}</td><td><code>{short(g.lastSuccessfulRevision) || '—'}</code></td></tr>
            ))}</tbody>
          </table>
        </div>
      ))}
    </section>
  );
}

export function GroupPage(props: { application: string; name: string }) {
  const group = useCall<Group>('GetDeploymentGroup', { application: props.application, name: props.name }, [props.application, props.name]);
  const hosts = useCall<{ hosts: HostInfo[] }>('ListHosts', {});
  const deployments = useCall<{ deployments: Deployment[] }>('ListDeployments', { application: props.application, group: props.name, limit: 20 }, [props.application, props.name]);
  if (!group.data) return <Loading error={group.error} />;
  const g = group.data;
  const members = (hosts.data?.hosts ?? []).filter(h => g.matchingHostIds.includes(h.id));
  return (
    <section>
      <h1>Group {g.application} / {g.name}</h1>
      <dl class="facts">
        <dt>Tag sets</dt><dd>{tagSetText(g.tagSets)}</dd>
        <dt>Config</dt><dd>{g.configName}</dd>
        <dt>Target revision</dt><dd><code>{g.lastSuccessfulRevision || '—'}</code>{g.lastSuccessfulDeploymentId && <> from <Link href={href.deployment(g.lastSuccessfulDeploymentId)}>{g.lastSuccessfulDeploymentId}</Link></>}</dd>
        <dt>Alarms</dt><dd>{g.alarms.join(', ') || '—'}</dd>
        <dt>Auto-rollback</dt><dd>{g.autoRollback.join(', ') || 'off'}</dd>
        <dt>Windows</dt><dd>{g.windows.length === 0 ? 'any time' : g.windows.map(w => `${w.cron} for ${Math.round(w.durationMs / 60000)} min (${w.timezone || 'UTC'})`).join('; ')}
          {g.windows.length > 0 && (g.windowOpen ? `, open until ${time(g.windowClosesAt)}` : `, closed; next ${time(g.nextWindowAt)}`)}</dd>
        <dt>Triggers</dt><dd>{g.triggers.map(t => t.name).join(', ') || '—'}</dd>
      </dl>
      <h2>Hosts ({g.matchingHostIds.length})</h2>
      <VirtualList label="group hosts" items={members} rowHeight={30} height={300} row={h => (
        <div class="cells" data-host={h.id}>
          <span><Link href={href.host(h.id)}>{h.id}</Link></span>
          <span><Status status={h.state || (h.connected ? 'connected' : 'offline')} /></span>
          <span><code>{short(h.revisions.find(r => r.groupId === g.id)?.revision ?? '') || '—'}</code></span>
          <span>{h.zone || '—'}</span>
        </div>
      )} />
      <h2>Deployments</h2>
      {!deployments.data ? <Loading error={deployments.error} /> : <DeploymentTable deployments={deployments.data.deployments} />}
    </section>
  );
}
