/** ControlService's token RPCs (admin only, enforced by security/auth.ts). */
import type { Context } from '../context.js';
import type { ControlServiceHandlers } from '../../proto/gen/ferry/v1/ControlService.js';
import type { TokenInfo } from '../../proto/gen/ferry/v1/TokenInfo.js';
import type { TokenRecord } from '../security/tokens.js';
import { createToken, revokeToken } from '../services/tokens.js';
import { unaryAs } from './errors.js';

/** Never carries the secret or its hash. */
export function tokenToProto(t: TokenRecord): TokenInfo {
  return {
    id: t.id, role: t.role, description: t.description, createdAt: t.createdAt, expiresAt: t.expiresAt ?? '',
    usesLeft: t.usesLeft ?? -1, revokedAt: t.revokedAt ?? '', createdBy: t.createdBy, hostId: t.hostId ?? '', tags: t.tags ?? {},
  };
}

export function tokenHandlers(ctx: Context): Pick<ControlServiceHandlers, 'CreateToken' | 'ListTokens' | 'RevokeToken'> {
  return {
    CreateToken: unaryAs(async (req, caller) => {
      const { token, record } = await createToken(ctx, { role: req.role, ttlMs: Number(req.ttlMs), uses: req.uses, description: req.description, hostId: req.hostId, tags: req.tags }, caller.id);
      return { info: tokenToProto(record), token };
    }),
    ListTokens: unaryAs(async () => ({ tokens: (await ctx.store.listTokens()).map(tokenToProto) })),
    RevokeToken: unaryAs(async (req, caller) => tokenToProto(await revokeToken(ctx, req.id, caller.id))),
  };
}
