/** Deep links: every page has its own URL under /ui/; history.pushState moves between them. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

const NAVIGATE = 'ferry:navigate';

export function navigate(to: string): void {
  history.pushState(null, '', to);
  dispatchEvent(new Event(NAVIGATE));
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    addEventListener('popstate', update);
    addEventListener(NAVIGATE, update);
    return () => {
      removeEventListener('popstate', update);
      removeEventListener(NAVIGATE, update);
    };
  }, []);
  return path;
}

export function Link(props: { href: string; class?: string; children: ComponentChildren }) {
  return (
    <a
      href={props.href}
      class={props.class}
      onClick={e => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

/** `/ui/deployments/:id` against a path: the named parts, or undefined. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  if (p.length !== s.length) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const part = p[i]!;
    if (part.startsWith(':')) out[part.slice(1)] = decodeURIComponent(s[i]!);
    else if (part !== s[i]) return undefined;
  }
  return out;
}

export const href = {
  deployment: (id: string) => `/ui/deployments/${encodeURIComponent(id)}`,
  deploymentHost: (id: string, host: string) => `/ui/deployments/${encodeURIComponent(id)}/hosts/${encodeURIComponent(host)}`,
  host: (id: string) => `/ui/hosts/${encodeURIComponent(id)}`,
  group: (app: string, name: string) => `/ui/groups/${encodeURIComponent(app)}/${encodeURIComponent(name)}`,
};
