import { FerryError } from '../../common/errors.js';
import type { Context } from '../context.js';
import type { Deployment } from '../domain/types.js';
import { type CreateDeploymentInput, createDeployment, requireGroup } from './deployments.js';

export interface PromoteInput {
  application: string;
  fromGroup: string;
  toGroup: string;
  /** The deployment options of `deploy create` (config, description, approval gate, …). */
  options: Omit<CreateDeploymentInput, 'application' | 'group' | 'revision' | 'creator' | 'targetHostIds' | 'rollbackOf'>;
}

export interface Promotion {
  deployment: Deployment;
  /** The from-group's last successful deployment, whose revision was promoted. */
  source: Deployment;
}

/** The revision a promotion takes: the one of `group`'s last successful deployment (rollbacks included, they are what runs there). */
export async function promotionSource(ctx: Context, application: string, group: string): Promise<Deployment> {
  const g = await requireGroup(ctx, application, group);
  const last = await ctx.store.lastSuccessfulDeployment(g.id);
  if (!last) {
    throw new FerryError('FAILED_PRECONDITION',
      `${group} has no successful deployment of app ${application}; deploy there first: ` +
      `ferry deploy create --app ${application} --group ${group} --revision latest --wait`);
  }
  return last;
}

/**
 * `ferry promote`: deploys to `toGroup` the revision whose last deployment succeeded on
 * `fromGroup` (the test → approve → production flow). The description names the source.
 */
export async function promote(ctx: Context, input: PromoteInput): Promise<Promotion> {
  const { application, fromGroup, toGroup } = input;
  if (fromGroup.trim() === '' || toGroup.trim() === '') {
    throw new FerryError('INVALID_ARGUMENT', 'promote: give both groups (--from and --to)');
  }
  if (fromGroup === toGroup) {
    throw new FerryError('INVALID_ARGUMENT',
      `cannot promote group ${fromGroup} to itself; to deploy its revision again use ferry deploy redeploy ID (see ferry deploy list --app ${application} --group ${fromGroup})`);
  }
  await requireGroup(ctx, application, toGroup);
  const source = await promotionSource(ctx, application, fromGroup);
  const note = `promoted from ${fromGroup} (deployment ${source.id}, revision ${source.revisionDigest.slice(0, 12)})`;
  const deployment = await createDeployment(ctx, {
    ...input.options,
    application,
    group: toGroup,
    revision: source.revisionDigest,
    creator: 'user',
    description: input.options.description ? `${note}: ${input.options.description}` : note,
  });
  ctx.log.info('deployment promoted', {
    component: 'promote', deployment_id: deployment.id, source_deployment_id: source.id, from: fromGroup, to: toGroup,
    revision: source.revisionDigest,
  });
  return { deployment, source };
}
