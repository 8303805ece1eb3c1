import { FerryError } from '../../common/errors.js';
import type { Store } from '../store/store.js';

/**
 * Which host may download which revision (docs/security.md, "Downloads"): a host whose identity a
 * certificate proves gets a revision's bytes only when it is a target of a deployment of that
 * revision (catch-up deployments included), whatever the revision's application. Any other
 * digest, known or not, is refused alike, so a host cannot learn which revisions exist. With
 * --insecure there is no identity to check (loopback, every caller is admin): nothing is refused.
 */
export async function authorizeRevisionDownload(store: Store, hostId: string, digest: string): Promise<void> {
  if (await store.isRevisionTarget(hostId, digest)) return;
  throw new FerryError('PERMISSION_DENIED',
    `host ${hostId} is not a target of any deployment of revision ${digest}: a host downloads only the revisions deployed to it`);
}
