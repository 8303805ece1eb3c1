/**
 * A deployment's actions. Each asks for confirmation, runs the ControlService call through the
 * coordinator (the same authorization and audit as the CLI), and shows the result. A button is
 * shown only when the signed-in role may make the call and the deployment's state allows it.
 */
import { useState } from 'preact/hooks';
import { call } from './api';
import { Link, href } from './router';
import { TERMINAL, type Deployment, type DeploymentDetail } from './types';
import { Confirm, Result, errorText } from './ui';

interface Action {
  method: string;
  label: string;
  when(d: Deployment): boolean;
  danger?: boolean;
  /** What the dialog says. */
  explain: string;
  reason?: boolean;
  rollback?: boolean;
}

const ACTIONS: Action[] = [
  { method: 'ApproveDeployment', label: 'Approve', when: d => d.awaitingApproval, explain: 'The rollout continues past its approval gate.' },
  { method: 'RejectDeployment', label: 'Reject', when: d => d.awaitingApproval, danger: true, reason: true, explain: 'The deployment stops; hosts not yet started are skipped.' },
  { method: 'PauseDeployment', label: 'Pause', when: d => d.status === 'InProgress', explain: 'No new host starts until it is resumed; hosts in flight finish.' },
  { method: 'ResumeDeployment', label: 'Resume', when: d => d.status === 'Paused' && !d.awaitingApproval, explain: 'The rollout goes on.' },
  { method: 'StopDeployment', label: 'Stop', when: d => !TERMINAL.includes(d.status), danger: true, reason: true, rollback: true, explain: 'Hosts not yet started are skipped; hosts in flight are stopped.' },
  { method: 'RollbackDeployment', label: 'Roll back', when: d => TERMINAL.includes(d.status) && !d.rolledBackBy, danger: true, explain: 'A new deployment puts the group\'s previous revision back on these hosts.' },
  { method: 'RedeployDeployment', label: 'Redeploy', when: d => TERMINAL.includes(d.status), explain: 'A new deployment of the same revision to the same group.' },
  { method: 'RetryDeployment', label: 'Retry failed hosts', when: d => d.status === 'Failed' || d.status === 'Stopped', explain: 'A new deployment of the same revision to the hosts that did not succeed.' },
];

export function DeploymentActions(props: { detail: DeploymentDetail; allowed: string[]; onDone(): void }) {
  const d = props.detail.deployment;
  const [open, setOpen] = useState<Action>();
  const [reason, setReason] = useState('');
  const [rollback, setRollback] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; message: string; link?: string }>();
  const shown = ACTIONS.filter(a => props.allowed.includes(a.method) && a.when(d));
  const run = async (a: Action) => {
    setOpen(undefined);
    try {
      const r = await call<DeploymentDetail>(a.method, { id: d.id, ...(a.reason && { reason }), ...(a.rollback && { rollback }) });
      const other = r.deployment.id !== d.id ? r.deployment.id : undefined;
      setResult({ ok: true, message: `${a.label}: done. ${other ? `New deployment ${other} is ${r.deployment.status}.` : `${d.id} is ${r.deployment.status}.`}`, ...(other && { link: other }) });
      props.onDone();
    } catch (err) {
      setResult({ ok: false, message: `${a.label} refused: ${errorText(err)}` });
    }
  };
  return (
    <div class="actions">
      {shown.map(a => (
        <button type="button" key={a.method} class={a.danger ? 'danger' : ''} data-action={a.method} onClick={() => (setReason(''), setRollback(false), setOpen(a))}>{a.label}</button>
      ))}
      <Result result={result} />
      {result?.link && <p><Link href={href.deployment(result.link)}>Open {result.link}</Link></p>}
      {open && (
        <Confirm title={`${open.label} ${d.id}?`} confirm={open.label} danger={open.danger ?? false} onCancel={() => setOpen(undefined)} onConfirm={() => void run(open)}>
          <p>{open.explain}</p>
          {open.reason && <label>Reason <input name="reason" value={reason} onInput={e => setReason((e.currentTarget as HTMLInputElement).value)} /></label>}
          {open.rollback && (
            <label class="check"><input type="checkbox" name="rollback" checked={rollback} onChange={e => setRollback((e.currentTarget as HTMLInputElement).checked)} /> Roll back the hosts that got this revision</label>
          )}
        </Confirm>
      )}
    </div>
  );
}
