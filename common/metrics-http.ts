import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { FerryError, describeError } from './errors.js';

/**
 * The Prometheus endpoint of a Ferry process (the agent's and the coordinator's): `GET /metrics`
 * in the text exposition format, 404 for anything else. It is unauthenticated: keep it on
 * loopback or behind a firewall. Off unless `--metrics-listen HOST:PORT` is given.
 */
export interface MetricsServer {
  /** The address actually bound (port 0 resolved), as HOST:PORT. */
  readonly address: string;
  close(): Promise<void>;
}

const LISTEN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/;

/** `127.0.0.1:9464`, `[::1]:9464`, `0.0.0.0:9464` (port 0: any free port). A bare port is refused: say which interface. */
export function parseMetricsListen(flag: string, raw: string): string {
  const m = LISTEN.exec(raw.trim());
  if (!m || Number(m[2]) > 65535) {
    throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' is not HOST:PORT (e.g. 127.0.0.1:9464; the endpoint is unauthenticated, keep it on loopback)`);
  }
  return raw.trim();
}

/** Binds `listen` (already checked by parseMetricsListen) and serves `registry`. */
export async function startMetricsServer(listen: string, registry: Registry): Promise<MetricsServer> {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0];
    if (url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      text => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      err => res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot collect metrics: ${describeError(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', err => reject(new FerryError('UNAVAILABLE', `--metrics-listen ${listen}: cannot listen: ${describeError(err)}`, { cause: err })));
    server.listen(Number(listen.slice(i + 1)), host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    address: `${listen.slice(0, i)}:${port}`,
    close: () => new Promise<void>(resolve => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
