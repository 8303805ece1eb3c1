/** Token administration: create (the secret returned once), list, revoke. */
import { FerryError } from '../../common/errors.js';
import { boundedText } from '../../common/text.js';
import type { Context } from '../context.js';
import { HOST_ID } from './host-id.js';
import { checkGrantedTags } from './host-tags.js';
import { type Role, ROLES, type TokenRecord, isRole, newToken } from '../security/tokens.js';

export interface CreateTokenInput {
  role: string;
  ttlMs?: number;
  uses?: number;
  description?: string;
  /** Join tokens: the one host id it enrolls. */
  hostId?: string;
  /** Join tokens: the tags granted to a host it enrolls. */
  tags?: Record<string, string>;
}

export async function createToken(ctx: Context, input: CreateTokenInput, createdBy: string): Promise<{ token: string; record: TokenRecord }> {
  if (!isRole(input.role)) {
    throw new FerryError('INVALID_ARGUMENT', `role '${input.role}' is not one of ${ROLES.join(', ')}`);
  }
  if (input.hostId && input.role !== 'agent') throw new FerryError('INVALID_ARGUMENT', `host_id: only a join token (role agent) is bound to a host, not a ${input.role} token`);
  if (input.hostId && !HOST_ID.test(input.hostId)) throw new FerryError('INVALID_ARGUMENT', `host_id: ${JSON.stringify(boundedText(input.hostId, 64))} is not a valid host id (letters, digits, . _ : -; up to 128)`);
  const tags = input.tags && Object.keys(input.tags).length > 0 ? input.tags : undefined;
  if (tags && input.role !== 'agent') throw new FerryError('INVALID_ARGUMENT', `tags: only a join token (role agent) grants tags, not a ${input.role} token`);
  if (tags) checkGrantedTags('tags', tags);
  const made = newToken({
    role: input.role as Role,
    createdBy,
    now: ctx.clock.now(),
    ...(input.ttlMs !== undefined && input.ttlMs > 0 && { ttlMs: input.ttlMs }),
    ...(input.uses !== undefined && input.uses > 0 && { uses: input.uses }),
    ...(input.description && { description: input.description }),
    ...(input.hostId && { hostId: input.hostId }),
    ...(tags && { tags }),
  });
  await ctx.store.createToken(made.record);
  ctx.log.info('token created', { component: 'tokens', token_id: made.record.id, role: made.record.role, created_by: createdBy, ...(input.hostId && { host_id: input.hostId }) });
  return made;
}

export async function revokeToken(ctx: Context, id: string, by: string): Promise<TokenRecord> {
  const existing = await ctx.store.getToken(id);
  if (!existing) throw new FerryError('NOT_FOUND', `token ${id} does not exist; see ferry token list`);
  if (!await ctx.store.revokeToken(id, new Date(ctx.clock.now()).toISOString())) {
    throw new FerryError('FAILED_PRECONDITION', `token ${id} was already revoked at ${existing.revokedAt}`);
  }
  ctx.log.info('token revoked', { component: 'tokens', token_id: id, by });
  return (await ctx.store.getToken(id))!;
}
