/** The deployment list (the home page) and the form that creates a deployment. */
import { useState } from 'preact/hooks';
import { call } from './api';
import { Link, href, navigate } from './router';
import type { Deployment, DeploymentDetail, Group } from './types';
import { Confirm, Loading, Result, Status, errorText, short, time, useCall } from './ui';

export function DeploymentsPage(props: { allowed: string[] }) {
  const list = useCall<{ deployments: Deployment[] }>('ListDeployments', { limit: 100 });
  return (
    <section>
      <h1>Deployments</h1>
      {props.allowed.includes('CreateDeployment') && <p><Link href="/ui/deployments/new" class="button primary">New deployment</Link></p>}
      {!list.data ? <Loading error={list.error} /> : <DeploymentTable deployments={list.data.deployments} />}
    </section>
  );
}

export function DeploymentTable(props: { deployments: Deployment[] }) {
  if (props.deployments.length === 0) return <p class="muted">No deployments yet.</p>;
  return (
    <table>
      <thead><tr><th>Deployment</th><th>Application / group</th><th>Revision</th><th>Status</th><th>Created</th><th>By</th></tr></thead>
      <tbody>
        {props.deployments.map(d => (
          <tr key={d.id}>
            <td><Link href={href.deployment(d.id)}>{d.id}</Link></td>
            <td><Link href={href.group(d.application, d.groupName)}>{d.application} / {d.groupName}</Link></td>
            <td><code>{short(d.revision)}</code></td>
            <td><Status status={d.status} /></td>
            <td>{time(d.createdAt)}</td>
            <td>{d.createdBy || d.creator}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface Form {
  application: string; group: string; revision: string; configName: string; description: string;
  approveAfter: string; ignoreAlarms: boolean; ignoreWindow: boolean; fileExistsBehavior: string;
}

export function NewDeploymentPage() {
  const apps = useCall<{ applications: { name: string }[] }>('ListApplications', {});
  const [f, setF] = useState<Form>({ application: '', group: '', revision: 'latest', configName: '', description: '', approveAfter: '', ignoreAlarms: false, ignoreWindow: false, fileExistsBehavior: '' });
  const groups = useCall<{ groups: Group[] }>('ListDeploymentGroups', { application: f.application }, [f.application], f.application !== '');
  const revisions = useCall<{ revisions: { digest: string; description: string; createdAt: string }[] }>('ListRevisions', { application: f.application }, [f.application], f.application !== '');
  const configs = useCall<{ configs: { name: string }[] }>('ListDeploymentConfigs', {});
  const [confirming, setConfirming] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; message: string }>();
  const set = (k: keyof Form) => (e: Event) => {
    const el = e.currentTarget as HTMLInputElement;
    setF({ ...f, [k]: el.type === 'checkbox' ? el.checked : el.value });
  };
  const create = async () => {
    setConfirming(false);
    try {
      const approve = f.approveAfter.trim();
      const r = await call<DeploymentDetail>('CreateDeployment', {
        application: f.application, group: f.group, revision: f.revision, configName: f.configName, description: f.description,
        fileExistsBehavior: f.fileExistsBehavior, ignoreAlarms: f.ignoreAlarms, ignoreWindow: f.ignoreWindow,
        ...(approve !== '' && { approveAfter: Number(approve), hasApproveAfter: true }),
      });
      navigate(href.deployment(r.deployment.id));
    } catch (err) {
      setResult({ ok: false, message: `Not created: ${errorText(err)}` });
    }
  };
  if (!apps.data) return <Loading error={apps.error} />;
  return (
    <section>
      <h1>New deployment</h1>
      <form class="form" onSubmit={e => (e.preventDefault(), setConfirming(true))}>
        <label>Application <select name="application" value={f.application} onChange={set('application')} required>
          <option value="">—</option>{apps.data.applications.map(a => <option key={a.name} value={a.name}>{a.name}</option>)}
        </select></label>
        <label>Group <select name="group" value={f.group} onChange={set('group')} required>
          <option value="">—</option>{(groups.data?.groups ?? []).map(g => <option key={g.name} value={g.name}>{g.name}</option>)}
        </select></label>
        <label>Revision <select name="revision" value={f.revision} onChange={set('revision')}>
          <option value="latest">latest</option>
          {(revisions.data?.revisions ?? []).map(r => <option key={r.digest} value={r.digest}>{short(r.digest)} {r.description} ({time(r.createdAt)})</option>)}
        </select></label>
        <label>Deployment config <select name="configName" value={f.configName} onChange={set('configName')}>
          <option value="">the group's</option>{(configs.data?.configs ?? []).map(c => <option key={c.name} value={c.name}>{c.name}</option>)}
        </select></label>
        <label>Description <input name="description" value={f.description} onInput={set('description')} /></label>
        <label>Approve after N hosts <input name="approveAfter" inputMode="numeric" pattern="[0-9]*" value={f.approveAfter} onInput={set('approveAfter')} placeholder="no gate" /></label>
        <label>Existing files <select name="fileExistsBehavior" value={f.fileExistsBehavior} onChange={set('fileExistsBehavior')}>
          <option value="">the appspec's (DISALLOW)</option><option>DISALLOW</option><option>OVERWRITE</option><option>RETAIN</option>
        </select></label>
        <label class="check"><input type="checkbox" name="ignoreAlarms" checked={f.ignoreAlarms} onChange={set('ignoreAlarms')} /> Ignore alarms</label>
        <label class="check"><input type="checkbox" name="ignoreWindow" checked={f.ignoreWindow} onChange={set('ignoreWindow')} /> Ignore deployment windows</label>
        <button type="submit" class="primary">Create…</button>
      </form>
      <Result result={result} />
      {confirming && (
        <Confirm title={`Deploy to ${f.application} / ${f.group}?`} confirm="Create deployment" onCancel={() => setConfirming(false)} onConfirm={() => void create()}>
          <p>Revision <code>{short(f.revision)}</code>{f.configName && `, config ${f.configName}`}{f.approveAfter && `, approval after ${f.approveAfter} host(s)`}.</p>
        </Confirm>
      )}
    </section>
  );
}
