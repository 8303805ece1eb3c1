/**
 * Tags are granted, not claimed (docs/security.md, "Tags"). A group selects hosts by their tags and
 * sends them its revisions, so with TLS a host has only the tags it is granted: by the join token
 * it enrolled with (`ferry token create --role agent --tag role=web`) or by an admin
 * (`ferry hosts set-tags`). Of the tags its agent registers with, the granted ones (same key, same
 * value) take effect; the others are ignored, audited and told to the agent. An agent may still
 * drop a granted tag by not sending it. With --insecure there is no identity: tags are taken as sent.
 */
import { FerryError } from '../../common/errors.js';
import { boundedText } from '../../common/text.js';
import { type Context, iso } from '../context.js';
import type { Host } from '../domain/types.js';
import { catchUpRegisteredHost } from './catch-up.js';

type Tags = Readonly<Record<string, string>>;

/** The claimed tags that are granted, and the rest. Pure. */
export function splitClaimedTags(claimed: Tags, granted: Tags): { tags: Record<string, string>; ignored: Record<string, string> } {
  const tags: Record<string, string> = {};
  const ignored: Record<string, string> = {};
  for (const [k, v] of Object.entries(claimed)) {
    if (Object.hasOwn(granted, k) && granted[k] === v) tags[k] = v;
    else ignored[k] = v;
  }
  return { tags, ignored };
}

/** `role=web, env=prod` (bounded: the text goes to logs and the audit log). */
export function formatTags(tags: Tags): string {
  return boundedText(Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(', '), 300);
}

const MAX_TAGS = 64;

/** Checks tags an admin grants (token or set-tags): every problem, naming `field`. */
export function checkGrantedTags(field: string, tags: Tags): void {
  const problems: string[] = [];
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) problems.push(`${field}: at most ${MAX_TAGS} tags, got ${entries.length}`);
  for (const [k, v] of entries) {
    if (k === '' || k.length > 128 || /[\s,=]/.test(k)) problems.push(`${field}: key ${JSON.stringify(boundedText(k, 64))} must be 1-128 characters without blanks, commas or =`);
    if (v.length > 256 || v.includes(',')) problems.push(`${field}: the value of ${boundedText(k, 64)} must be at most 256 characters without commas`);
  }
  if (problems.length > 0) throw new FerryError('INVALID_ARGUMENT', problems.join('; '));
}

/**
 * At Register: the tags the host gets from what its agent sent (`enrolled`: the caller proved the
 * host id with its certificate). Records the claim, so a later grant applies without a reconnect.
 */
export async function admitClaimedTags(ctx: Context, hostId: string, claimed: Tags, enrolled: boolean): Promise<{ tags: Record<string, string>; ignored: Record<string, string> }> {
  if (!enrolled) return { tags: { ...claimed }, ignored: {} };
  await ctx.store.recordClaimedTags(hostId, claimed);
  const split = splitClaimedTags(claimed, (await ctx.store.getHostTags(hostId))?.granted ?? {});
  if (Object.keys(split.ignored).length > 0) {
    ctx.log.warn('tags not granted to the host ignored', { component: 'agents', host_id: hostId, ignored: formatTags(split.ignored) });
  }
  return split;
}

/** The message for an agent whose tags were not all granted (audit log and the agent's own log). */
export function notGrantedMessage(hostId: string, ignored: Tags): string {
  return `tags not granted to host ${hostId}, ignored: ${formatTags(ignored)}; an admin grants them with ferry hosts set-tags ${hostId} key=value …`;
}

/** `ferry hosts set-tags`: replaces the host's grant; a registered host's tags change at once. */
export async function setHostTags(ctx: Context, hostId: string, granted: Tags, by: string): Promise<void> {
  if (!ctx.tls) throw new FerryError('FAILED_PRECONDITION', 'this coordinator runs --insecure: agents\' tags are taken as they send them, there is nothing to grant');
  checkGrantedTags('tags', granted);
  const now = ctx.clock.now();
  const host = await ctx.store.getHost(hostId);
  if (!host && !await ctx.store.activeHostCertificate(hostId, iso(now))) {
    throw new FerryError('NOT_FOUND', `host ${hostId} is neither registered nor enrolled; see ferry hosts list`);
  }
  await ctx.store.grantHostTags(hostId, granted, by, iso(now));
  ctx.log.info('host tags granted', { component: 'security', host_id: hostId, tags: formatTags(granted), by });
  if (!host) return;
  const { tags } = splitClaimedTags((await ctx.store.getHostTags(hostId))?.claimed ?? {}, granted);
  await ctx.store.upsertHost({ ...host, tags });
  // A host that now matches a group gets the group's target revision, as if it had just registered.
  if (ctx.registry.isConnected(hostId)) await catchUpRegisteredHost(ctx, hostId, undefined);
  ctx.kick();
}

/** What the host views add: the grant and the ignored claim (TLS only). */
export async function hostTagsView(ctx: Context, host: Pick<Host, 'id'>): Promise<{ grantedTags: Record<string, string>; ignoredTags: Record<string, string>; tagsGranted: boolean }> {
  if (!ctx.tls) return { grantedTags: {}, ignoredTags: {}, tagsGranted: false };
  const record = await ctx.store.getHostTags(host.id);
  const granted = record?.granted ?? {};
  return { grantedTags: granted, ignoredTags: splitClaimedTags(record?.claimed ?? {}, granted).ignored, tagsGranted: true };
}
