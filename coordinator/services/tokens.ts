/** Token administration: create (the secret returned once), list, revoke. */
import { FerryError } from '../../common/errors.js';
import type { Context } from '../context.js';
import { type Role, ROLES, type TokenRecord, isRole, newToken } from '../security/tokens.js';

export interface CreateTokenInput {
  role: string;
  ttlMs?: number;
  uses?: number;
  description?: string;
}

export function createToken(ctx: Context, input: CreateTokenInput, createdBy: string): { token: string; record: TokenRecord } {
  if (!isRole(input.role)) {
    throw new FerryError('INVALID_ARGUMENT', `role '${input.role}' is not one of ${ROLES.join(', ')}`);
  }
  const made = newToken({
    role: input.role as Role,
    createdBy,
    now: ctx.clock.now(),
    ...(input.ttlMs !== undefined && input.ttlMs > 0 && { ttlMs: input.ttlMs }),
    ...(input.uses !== undefined && input.uses > 0 && { uses: input.uses }),
    ...(input.description && { description: input.description }),
  });
  ctx.store.createToken(made.record);
  ctx.log.info('token created', { component: 'tokens', token_id: made.record.id, role: made.record.role, created_by: createdBy });
  return made;
}

export function revokeToken(ctx: Context, id: string, by: string): TokenRecord {
  const existing = ctx.store.getToken(id);
  if (!existing) throw new FerryError('NOT_FOUND', `token ${id} does not exist; see ferry token list`);
  if (!ctx.store.revokeToken(id, new Date(ctx.clock.now()).toISOString())) {
    throw new FerryError('FAILED_PRECONDITION', `token ${id} was already revoked at ${existing.revokedAt}`);
  }
  ctx.log.info('token revoked', { component: 'tokens', token_id: id, by });
  return ctx.store.getToken(id)!;
}
