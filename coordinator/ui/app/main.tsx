/** The Ferry web console: sign-in, navigation, and the page for the URL. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type SessionInfo, getSession, signIn, signOut } from './api';
import { DeploymentPage } from './deployment';
import { DeploymentsPage, NewDeploymentPage } from './deployments';
import { ApplicationsPage, GroupPage, HostPage, HostsPage } from './fleet';
import { AuditPage, EventsPage } from './logs';
import { Link, match, usePath } from './router';
import { errorText } from './ui';
import './app.css';

function SignIn(props: { session: SessionInfo; onSignedIn(s: SessionInfo): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  return (
    <main class="signin">
      <h1>Ferry</h1>
      <form onSubmit={e => {
        e.preventDefault();
        signIn(token).then(props.onSignedIn, err => setError(errorText(err)));
      }}>
        {props.session.insecure ? (
          <p>This coordinator runs with --insecure on this machine: no token is needed.</p>
        ) : (
          <label>API token <input type="password" name="token" autoComplete="off" value={token} onInput={e => setToken((e.currentTarget as HTMLInputElement).value)} placeholder="fy.…" required /></label>
        )}
        <button type="submit" class="primary">Sign in</button>
        {error && <p class="error" role="alert">{error}</p>}
      </form>
      <p class="muted">An admin makes tokens with <code>ferry token create --role viewer</code>. The token is exchanged for a session cookie the page's scripts cannot read.</p>
    </main>
  );
}

function Page(props: { path: string; allowed: string[] }) {
  const { path, allowed } = props;
  let m;
  if (path === '/ui/' || path === '/ui/deployments') return <DeploymentsPage allowed={allowed} />;
  if (path === '/ui/deployments/new') return <NewDeploymentPage />;
  if ((m = match('/ui/deployments/:id/hosts/:host', path))) return <DeploymentPage id={m.id!} host={m.host} allowed={allowed} />;
  if ((m = match('/ui/deployments/:id', path))) return <DeploymentPage id={m.id!} allowed={allowed} />;
  if (path === '/ui/hosts') return <HostsPage />;
  if ((m = match('/ui/hosts/:id', path))) return <HostPage id={m.id!} />;
  if (path === '/ui/applications') return <ApplicationsPage />;
  if ((m = match('/ui/groups/:app/:name', path))) return <GroupPage application={m.app!} name={m.name!} />;
  if (path === '/ui/events') return <EventsPage />;
  if (path === '/ui/audit') return <AuditPage />;
  return <p class="error">No page at {path}.</p>;
}

function App() {
  const [session, setSession] = useState<SessionInfo>();
  const path = usePath();
  useEffect(() => void getSession().then(setSession, () => setSession({ signedIn: false, insecure: false })), []);
  if (!session) return <p class="muted">Loading…</p>;
  if (!session.signedIn) return <SignIn session={session} onSignedIn={setSession} />;
  const allowed = session.allowed ?? [];
  const nav = [['/ui/', 'Deployments'], ['/ui/applications', 'Applications'], ['/ui/hosts', 'Hosts'], ['/ui/events', 'Events'], ...(allowed.includes('StreamAudit') ? [['/ui/audit', 'Audit']] : [])] as const;
  return (
    <>
      <header>
        <strong class="brand">Ferry</strong>
        <nav>{nav.map(([to, label]) => <Link key={to} href={to} class={path === to ? 'current' : ''}>{label}</Link>)}</nav>
        <span class="who" data-testid="who">{session.actor} ({session.role})</span>
        <button type="button" onClick={() => void signOut().then(() => setSession({ signedIn: false, insecure: session.insecure }))}>Sign out</button>
      </header>
      <main><Page path={path} allowed={allowed} /></main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
