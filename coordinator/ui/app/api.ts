/** The coordinator's console API (coordinator/ui/http.ts): session, JSON calls, server-sent-event streams. */

export interface SessionInfo {
  signedIn: boolean;
  insecure: boolean;
  actor?: string;
  role?: string;
  csrf?: string;
  /** The ControlService methods this role may call: actions not in it are not shown. */
  allowed?: string[];
}

export class ApiError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

let csrf = '';

async function post(path: string, body: unknown): Promise<unknown> {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-ferry-csrf': csrf },
    body: JSON.stringify(body),
  });
  const data = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) throw new ApiError(data.error?.code ?? String(res.status), data.error?.message ?? `HTTP ${res.status}`);
  return data;
}

export async function getSession(): Promise<SessionInfo> {
  const res = await fetch('/ui/api/session', { credentials: 'same-origin' });
  const s = (await res.json()) as SessionInfo;
  csrf = s.csrf ?? '';
  return s;
}

export async function signIn(token: string): Promise<SessionInfo> {
  const s = (await post('/ui/api/session', { token })) as SessionInfo;
  csrf = s.csrf ?? '';
  return s;
}

export async function signOut(): Promise<void> {
  await post('/ui/api/signout', {});
  csrf = '';
}

/** A ControlService call by name, with its request as JSON (field names in camelCase). */
export function call<T>(method: string, request: object = {}): Promise<T> {
  return post(`/ui/api/call/${method}`, request) as Promise<T>;
}

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed';

/**
 * Follows a ControlService stream over server-sent events. The browser reconnects by itself and
 * sends the last event id, so the coordinator resumes after the last sequence number seen.
 */
export function follow<T>(method: string, request: object, onMessage: (m: T) => void, onState: (s: StreamState, message?: string) => void = () => {}): () => void {
  const es = new EventSource(`/ui/api/stream/${method}?q=${encodeURIComponent(JSON.stringify(request))}`);
  onState('connecting');
  es.onopen = () => onState('live');
  es.onmessage = e => onMessage(JSON.parse(e.data as string) as T);
  es.onerror = () => onState(es.readyState === EventSource.CLOSED ? 'failed' : 'reconnecting');
  es.addEventListener('end', () => {
    es.close();
    onState('ended');
  });
  es.addEventListener('failure', e => {
    es.close();
    onState('failed', (JSON.parse((e as MessageEvent).data as string) as { error: { message: string } }).error.message);
  });
  return () => es.close();
}
