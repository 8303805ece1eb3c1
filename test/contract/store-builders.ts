/**
 * Test data for the Store contract: builders with defaults (override what the test is about) and
 * `given…` helpers that also store what they build, parents first.
 */
import type { Store } from '../../coordinator/store/store.js';
import type {
  Application, Deployment, DeploymentConfig, DeploymentGroup, Host, HostDeployment, LifecycleEventRecord, LogLine,
  Revision,
} from '../../coordinator/domain/types.js';

let counter = 0;
const nextId = (prefix: string): string => `${prefix}-${++counter}`;

/** A fixed instant `second` seconds after 2024-01-01T00:00:00Z, as the ISO string the store keeps. */
export const at = (second: number): string => new Date(Date.UTC(2024, 0, 1, 0, 0, second)).toISOString();

export const anApplication = (over: Partial<Application> = {}): Application => ({
  name: nextId('shop'), createdAt: at(0), ...over,
});

export const aConfig = (over: Partial<DeploymentConfig> = {}): DeploymentConfig => ({
  name: nextId('TwoAtATime'), minimumHealthy: { type: 'HOST_COUNT', value: 2 }, builtIn: false, createdAt: at(0), ...over,
});

export const aGroup = (over: Partial<DeploymentGroup> = {}): DeploymentGroup => ({
  id: nextId('group'),
  application: 'shop',
  name: nextId('web'),
  tagSets: [[{ key: 'role', value: 'web' }, { key: 'role', value: 'api' }], [{ key: 'env', value: 'prod' }]],
  configName: 'OneAtATime',
  createdAt: at(0),
  autoRollback: [], alarms: [], ...over,
});

export const aRevision = (over: Partial<Revision> = {}): Revision => ({
  digest: nextId('sha256'), application: 'shop', size: 4096, bundleType: 'tgz', description: 'release', createdAt: at(0),
  ...over,
});

export const aHost = (over: Partial<Host> = {}): Host => {
  const id = over.id ?? nextId('host');
  return {
    id,
    hostname: `${id}.example.internal`,
    tags: { role: 'web', env: 'prod' },
    zone: 'zone-a',
    agentVersion: '0.1.0',
    facts: { os: 'linux', arch: 'x64', cpus: 2, memoryBytes: 2 ** 31 },
    connected: true,
    lastSeenAt: at(0),
    registeredAt: at(0),
    ...over,
  };
};

export const aDeployment = (over: Partial<Deployment> = {}): Deployment => ({
  id: nextId('d'),
  application: 'shop',
  groupId: 'group',
  groupName: 'web',
  revisionDigest: 'sha256',
  configName: 'OneAtATime',
  status: 'Created',
  creator: 'user',
  description: 'ship it',
  fileExistsBehavior: 'DISALLOW',
  ignoreApplicationStopFailures: false,
  createdAt: at(0),
  ...over,
});

export const aTarget = (over: Partial<HostDeployment> = {}): HostDeployment => ({
  deploymentId: 'd', hostId: 'host', status: 'Pending', position: 0, ...over,
});

export const anEventRecord = (over: Partial<LifecycleEventRecord> = {}): LifecycleEventRecord => ({
  deploymentId: 'd', hostId: 'host', event: 'BeforeInstall', status: 'InProgress', startedAt: at(1), ...over,
});

export const aLogLine = (over: Partial<Omit<LogLine, 'seq'>> = {}): Omit<LogLine, 'seq'> => ({
  deploymentId: 'd', hostId: 'host', at: at(1), event: 'BeforeInstall', stream: 'stdout', line: 'installing', ...over,
});

/** A stored application with one group and one revision: what a deployment needs. */
export interface World {
  application: Application;
  group: DeploymentGroup;
  revision: Revision;
}

export async function givenWorld(store: Store, group: Partial<DeploymentGroup> = {}): Promise<World> {
  const application = anApplication();
  await store.createApplication(application);
  const g = aGroup({ application: application.name, ...group });
  await store.createGroup(g);
  const revision = await store.addRevision(aRevision({ application: application.name }));
  return { application, group: g, revision };
}

/** A deployment of the world's revision to its group (not stored). */
export const deploymentOf = (world: World, over: Partial<Deployment> = {}): Deployment => aDeployment({
  application: world.application.name,
  groupId: world.group.id,
  groupName: world.group.name,
  revisionDigest: world.revision.digest,
  configName: world.group.configName,
  ...over,
});

export async function givenDeployment(store: Store, world: World, over: Partial<Deployment> = {}): Promise<Deployment> {
  const deployment = deploymentOf(world, over);
  await store.createDeployment(deployment);
  return deployment;
}

export async function givenHosts(store: Store, count: number): Promise<Host[]> {
  const hosts = Array.from({ length: count }, () => aHost());
  for (const host of hosts) await store.upsertHost(host);
  return hosts;
}

/** Targets of `deployment` on `hosts`, in order. */
export const targetsOn = (deployment: Deployment, hosts: readonly Host[]): HostDeployment[] =>
  hosts.map((host, position) => aTarget({ deploymentId: deployment.id, hostId: host.id, position }));

/** A started deployment with a target on each host. */
export async function givenStarted(store: Store, world: World, hosts: readonly Host[], over: Partial<Deployment> = {}): Promise<Deployment> {
  const deployment = await givenDeployment(store, world, over);
  if (!await store.startDeployment(deployment.id, targetsOn(deployment, hosts), 1, at(1))) {
    throw new Error(`test setup: deployment ${deployment.id} did not start`);
  }
  return deployment;
}

/** The statuses to step through, from `initial`, to reach `target` by allowed transitions (BFS). */
export function pathTo<S extends string>(table: Readonly<Record<S, readonly S[]>>, initial: S, target: S): S[] | undefined {
  const previous = new Map<S, S | null>([[initial, null]]);
  const queue: S[] = [initial];
  for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
    if (current === target) {
      const path: S[] = [];
      for (let s: S | null | undefined = current; s !== initial && s != null; s = previous.get(s)) path.unshift(s);
      return path;
    }
    for (const next of table[current]) {
      if (!previous.has(next)) {
        previous.set(next, current);
        queue.push(next);
      }
    }
  }
  return undefined;
}
