/**
 * Test hosts in network namespaces (needs root and iproute2's `ip`): each host is a namespace with
 * one veth `eth0` and one address on a private /24; the other ends of the veths hang on a bridge
 * that lives in a namespace of its own, so nothing is added to the machine's own network and the
 * subnet cannot collide with it. Names are `ferry-<pid>-<suffix>`, unique per run; a run's
 * teardown kills whatever still runs inside its namespaces and deletes them (the veths and the
 * bridge go with them).
 */
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { isAlive } from '../../common/pid-lock.js';

const run = promisify(execFile);

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface NetHost {
  /** The namespace: run a command in it with `ip netns exec <ns> …`. */
  ns: string;
  /** Its address on the bridge (no prefix length). */
  address: string;
}

export interface Net<N extends string = string> {
  bridgeNs: string;
  /** `10.x.y` */
  subnet: string;
  hosts: Record<N, NetHost>;
  /** Every namespace this run made (bridge first). */
  namespaces: string[];
}

const NAME = /^ferry-(\d+)-([a-z0-9]+)$/;

async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args)).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/**
 * Why network namespaces cannot be used here, or undefined when they can: not root, no `ip`
 * (apt-get install iproute2), or a kernel/sandbox that refuses `ip netns add`.
 */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return `network namespaces need root (uid is ${process.getuid()}): run this test as root, as CI does`;
  }
  try {
    await run('ip', ['-V']);
  } catch {
    return 'the ip command (iproute2) is missing: apt-get install iproute2 (.ci/run installs it)';
  }
  const probe = `ferry-${process.pid}-probe`;
  try {
    await ip('netns', 'add', probe);
  } catch (err) {
    return `ip netns add does not work here: ${(err as Error).message}`;
  }
  await ip('netns', 'del', probe).catch(() => undefined);
  return undefined;
}

/** Namespace names in use (`ip netns list` prints `name (id: n)` or just `name`). */
export async function listNamespaces(): Promise<string[]> {
  return (await ip('netns', 'list')).split('\n').map(l => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
}

/** Kills what runs in a namespace, then deletes it (its veths and bridge go with it). */
async function destroy(ns: string): Promise<void> {
  const pids = (await ip('netns', 'pids', ns).catch(() => '')).split('\n').map(Number).filter(p => p > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await ip('netns', 'del', ns).catch(() => undefined);
}

/**
 * Deletes namespaces left by a crashed run of these tests: only `ferry-<pid>-…` names whose pid is
 * no longer a live process (a run still going, here or in another checkout, is left alone).
 */
export async function removeStaleNamespaces(): Promise<string[]> {
  const stale = (await listNamespaces()).filter(n => {
    const m = NAME.exec(n);
    return m !== null && Number(m[1]) !== process.pid && !isAlive(Number(m[1]));
  });
  for (const ns of stale) await destroy(ns);
  return stale;
}

/**
 * Makes one namespace per host name (`c`, `a1`, …: short, lower-case) on a bridge, with
 * addresses 10.x.y.1, .2, … in that order. Everything is removed at teardown, even on failure.
 */
export async function makeNet<N extends string>(t: Teardown, hostNames: readonly N[]): Promise<Net<N>> {
  const prefix = `ferry-${process.pid}`;
  const subnet = `10.${randomInt(100, 250)}.${randomInt(1, 250)}`;
  const bridgeNs = `${prefix}-br`;
  const net: Net<N> = { bridgeNs, subnet, hosts: {} as Record<N, NetHost>, namespaces: [] };
  t.teardown(async () => {
    for (const ns of [...net.namespaces].reverse()) await destroy(ns);
  });
  const addNs = async (ns: string) => {
    await ip('netns', 'add', ns);
    net.namespaces.push(ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  };
  await addNs(bridgeNs);
  await ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
  await ip('-n', bridgeNs, 'link', 'set', 'br0', 'up');
  for (const [i, name] of hostNames.entries()) {
    if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`host name '${name}': 1 to 8 lower-case letters or digits`);
    const ns = `${prefix}-${name}`;
    const address = `${subnet}.${i + 1}`;
    await addNs(ns);
    // Both ends are made from the bridge's namespace: nothing ever appears in the machine's own.
    await ip('-n', bridgeNs, 'link', 'add', `v-${name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await ip('-n', bridgeNs, 'link', 'set', `v-${name}`, 'master', 'br0', 'up');
    await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    await ip('-n', ns, 'link', 'set', 'eth0', 'up');
    net.hosts[name] = { ns, address };
  }
  return net;
}

export interface NsLink {
  /** The device in the machine's own namespace (`ip link set <dev> down` cuts the link, silently). */
  outsideDev: string;
  /** Its address, reachable from inside the namespace. */
  outside: string;
  /** The namespace's end's address, reachable from the machine. */
  inside: string;
}

/**
 * One namespace joined to the machine's own network by `links` veth pairs, each a /30 of its own
 * (10.x.y.1 outside, .2 inside), so that each path in or out can be cut alone: e.g. a coordinator
 * replica whose way to PostgreSQL is cut while its agents still reach it. The outside ends live in
 * the machine's namespace (named `fx<pid><n>`) and go with the namespace at teardown.
 */
export async function linkedNamespace<L extends string>(t: Teardown, name: string, links: readonly L[]): Promise<{ ns: string; links: Record<L, NsLink> }> {
  const ns = `ferry-${process.pid}-${name}`;
  t.teardown(() => destroy(ns));
  await ip('netns', 'add', ns);
  await ip('-n', ns, 'link', 'set', 'lo', 'up');
  const made = {} as Record<L, NsLink>;
  for (const [i, link] of links.entries()) {
    const prefix = `10.${randomInt(100, 250)}.${randomInt(1, 250)}`;
    const outsideDev = `fx${process.pid}${i}`;
    await ip('link', 'add', outsideDev, 'type', 'veth', 'peer', 'name', `l${i}`, 'netns', ns);
    await ip('addr', 'add', `${prefix}.1/30`, 'dev', outsideDev);
    await ip('link', 'set', outsideDev, 'up');
    await ip('-n', ns, 'addr', 'add', `${prefix}.2/30`, 'dev', `l${i}`);
    await ip('-n', ns, 'link', 'set', `l${i}`, 'up');
    made[link] = { outsideDev, outside: `${prefix}.1`, inside: `${prefix}.2` };
  }
  return { ns, links: made };
}

/** Cuts (`up` false) or restores a link of linkedNamespace: packets are dropped, no error is sent back. */
export async function setLink(link: NsLink, up: boolean): Promise<void> {
  await ip('link', 'set', link.outsideDev, up ? 'up' : 'down');
}
