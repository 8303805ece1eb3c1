/**
 * A TCP relay in front of a server (PostgreSQL in the replica tests), to cut the network the way a real
 * partition does: `cut()` stops forwarding in both directions without closing or resetting anything, so
 * the client sees silence, not an error; `heal()` forwards again (connections opened meanwhile work).
 */
import net from 'node:net';

export interface TcpRelay {
  /** The relay's address in `url` (the target's address replaced). */
  url: string;
  cut(): void;
  heal(): void;
  close(): void;
}

/** Starts a relay on a free loopback port towards the host and port of `targetUrl` (e.g. postgres://…). */
export async function tcpRelay(targetUrl: string): Promise<TcpRelay> {
  const sockets = new Set<net.Socket>();
  let cut = false;
  const target = new URL(targetUrl);
  const proxy = net.createServer(client => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', d => { if (!cut) upstream.write(d); });
    upstream.on('data', d => { if (!cut) client.write(d); });
    for (const s of [client, upstream]) {
      s.on('error', () => undefined).on('close', () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      });
    }
  });
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve));
  const via = new URL(targetUrl);
  via.port = String((proxy.address() as net.AddressInfo).port);
  return {
    url: via.toString(),
    cut: () => { cut = true; },
    heal: () => { cut = false; },
    close: () => {
      for (const s of sockets) s.destroy();
      proxy.close();
    },
  };
}
