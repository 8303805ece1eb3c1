/** Small pieces every page uses: data loading, status badges, times, the confirmation dialog, the virtualized list. */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call } from './api';

/** Calls `method` when the page opens and when `deps` change; not while `enabled` is false (a form field not chosen yet). */
export function useCall<T>(method: string, request: object, deps: unknown[] = [], enabled = true): { data?: T; error?: string; reload(): void } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!enabled) return setState({});
    let live = true;
    call<T>(method, request).then(data => live && setState({ data }), (err: Error) => live && setState({ error: err.message }));
    return () => {
      live = false;
    };
  }, [method, n, enabled, ...deps]);
  return { ...state, reload: useCallback(() => setN(x => x + 1), []) };
}

export function Status(props: { status: string }) {
  return <span class={`status status-${props.status.toLowerCase()}`}>{props.status || '—'}</span>;
}

export function Loading(props: { error?: string | undefined }) {
  return props.error ? <p class="error" role="alert">{props.error}</p> : <p class="muted">Loading…</p>;
}

export function time(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function duration(ms: number | undefined): string {
  if (!ms) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const short = (digest: string) => (digest.length > 12 ? digest.slice(0, 12) : digest);

/** A modal asking to confirm an action; `body` may hold inputs. The result (or error) shows in the page. */
export function Confirm(props: { title: string; children?: ComponentChildren; confirm: string; onConfirm(): void; onCancel(): void; danger?: boolean }) {
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div class="modal-backdrop">
      <div class="modal" role="dialog" aria-modal="true" aria-label={props.title}>
        <h2>{props.title}</h2>
        {props.children}
        <div class="buttons">
          <button type="button" onClick={props.onCancel}>Cancel</button>
          <button type="button" ref={ref} class={props.danger ? 'danger' : 'primary'} onClick={props.onConfirm}>{props.confirm}</button>
        </div>
      </div>
    </div>
  );
}

export function Result(props: { result?: { ok: boolean; message: string } | undefined }) {
  if (!props.result) return null;
  return <p class={props.result.ok ? 'ok' : 'error'} role="status">{props.result.message}</p>;
}

export function errorText(err: unknown): string {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
}

/**
 * A list that renders only the rows in view (plus a few): 1,000 or 100,000 rows cost the same to
 * draw and to update. Rows have one fixed height; positions are set through the CSSOM (CSP allows it).
 */
export function VirtualList<T>(props: { items: T[]; rowHeight: number; height: number; row(item: T, index: number): JSX.Element; label: string }) {
  const [top, setTop] = useState(0);
  const first = Math.max(0, Math.floor(top / props.rowHeight) - 5);
  const last = Math.min(props.items.length, Math.ceil((top + props.height) / props.rowHeight) + 5);
  const rows: JSX.Element[] = [];
  for (let i = first; i < last; i++) {
    rows.push(<div class="vrow" role="row" key={i} style={{ top: `${i * props.rowHeight}px`, height: `${props.rowHeight}px` }}>{props.row(props.items[i]!, i)}</div>);
  }
  return (
    <div class="vlist" role="table" aria-label={props.label} aria-rowcount={props.items.length} style={{ height: `${Math.min(props.height, props.items.length * props.rowHeight + 2)}px` }}
      onScroll={e => setTop((e.currentTarget as HTMLElement).scrollTop)}>
      <div class="vspace" style={{ height: `${props.items.length * props.rowHeight}px` }}>{rows}</div>
    </div>
  );
}
