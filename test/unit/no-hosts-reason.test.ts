import t from 'tap';
import type { DeploymentGroup } from '../../coordinator/domain/types.js';
import { noHostsReason } from '../../coordinator/scheduler/scheduler.js';

/** The NO_INSTANCES message names the group, the tags that matched nothing, and what to look at. */

const group = (tagSets: DeploymentGroup['tagSets']) => ({ name: 'web', tagSets }) as DeploymentGroup;

t.test('a group whose tags match no known host says which tags', async t => {
  t.equal(noHostsReason(group([[{ key: 'role', value: 'web' }]]), {}),
    'group web has no hosts: no known host matches role=web; see ferry hosts list (an agent gets its tags from ferry-agent start --tag KEY=VALUE)');
  t.match(noHostsReason(group([[{ key: 'role', value: 'web' }, { key: 'role', value: 'api' }], [{ key: 'env', value: 'prod' }]]), {}),
    'matches (role=web OR role=api) AND env=prod; see ferry hosts list');
});

t.test('a deployment for given hosts (rollback, a late host) names them', async t => {
  t.equal(noHostsReason(group([[{ key: 'role' }]]), { targetHostIds: ['h1', 'h2'] }),
    'none of the 2 host(s) it targets (h1, h2) is known; see ferry hosts list');
});
