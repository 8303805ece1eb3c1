import { randomBytes } from 'node:crypto';
import { FerryError } from '../../common/errors.js';
import { type Context, iso } from '../context.js';
import { redactUrl, type TriggerView } from '../domain/events.js';
import { MAX_TRIGGERS_PER_GROUP, type TriggerEvent, type TriggerFormat, triggerProblems } from '../../common/triggers.js';
import { requireGroup } from './deployments.js';
import { ALLOW_NOTHING, refusedUrl } from '../notify/destination.js';

export interface SetTriggerInput {
  application: string;
  group: string;
  name: string;
  url: string;
  events: readonly string[];
  /** Empty or absent: generated for a new trigger, kept for an existing one. */
  secret?: string;
  /** json, slack or teams; empty or absent: json for a new trigger, kept for an existing one. */
  format?: string;
}

/** A new trigger's secret: 32 random bytes, hex. */
export const generateSecret = (): string => randomBytes(32).toString('hex');

/**
 * Creates or replaces a group's webhook trigger and queues its test notification (CodeDeploy sends
 * one on creation). Returns the generated secret only when one was generated: it is shown once.
 */
export async function setTrigger(ctx: Context, input: SetTriggerInput): Promise<{ trigger: TriggerView; created: boolean; generatedSecret?: string; testSeq: number }> {
  const problems = triggerProblems(input);
  if (input.secret !== undefined && input.secret !== '' && input.secret.length < 16) {
    problems.push('--secret-file: the secret must be at least 16 characters');
  }
  const destination = refusedUrl(input.url, ctx.webhookAllow ?? ALLOW_NOTHING);
  if (destination) problems.push(`--url: ${destination}`);
  if (problems.length > 0) throw new FerryError('INVALID_ARGUMENT', problems.length === 1 ? problems[0]! : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
  const group = await requireGroup(ctx, input.application, input.group);
  const existing = await ctx.store.listTriggers(group.id);
  const isNew = !existing.some(t => t.name === input.name);
  if (isNew && existing.length >= MAX_TRIGGERS_PER_GROUP) {
    throw new FerryError('FAILED_PRECONDITION', `group ${input.application}/${input.group} already has ${existing.length} triggers (at most ${MAX_TRIGGERS_PER_GROUP}); remove one with ferry group remove-trigger`);
  }
  const generatedSecret = isNew && !input.secret ? generateSecret() : undefined;
  const secret = input.secret || generatedSecret;
  const events = [...new Set(input.events)] as TriggerEvent[];
  const format = input.format ? (input.format as TriggerFormat) : undefined;
  const result = await ctx.store.setTrigger({ groupId: group.id, name: input.name, url: input.url, events, ...(secret && { secret }), ...(format && { format }) }, iso(ctx.clock.now()));
  ctx.log.info(result.created ? 'trigger created' : 'trigger updated', {
    component: 'notify', application: input.application, group: input.group, trigger: input.name, url: redactUrl(input.url, result.trigger.format), events: events.join(','),
    format: result.trigger.format,
  });
  ctx.changes.events();
  return { ...result, ...(generatedSecret && { generatedSecret }) };
}

export async function removeTrigger(ctx: Context, application: string, groupName: string, name: string): Promise<void> {
  const group = await requireGroup(ctx, application, groupName);
  if (!await ctx.store.removeTrigger(group.id, name)) {
    throw new FerryError('NOT_FOUND', `group ${application}/${groupName} has no trigger ${name}; see ferry group show --app ${application} --name ${groupName}`);
  }
  ctx.log.info('trigger removed', { component: 'notify', application, group: groupName, trigger: name });
}
