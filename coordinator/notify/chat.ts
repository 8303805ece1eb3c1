/**
 * Chat notifications (docs/notifications.md, "Slack and Microsoft Teams"): the same events as the
 * JSON triggers, as a message people read in a channel — what happened, application, group,
 * deployment, revision, status, hosts, error, and where to look (`ferry deploy status ID`, and the
 * console page when the coordinator's `public-url` is set). Pure.
 */
import type { FerryEvent } from '../domain/events.js';

/** CodeDeploy spells statuses in capitals with underscores (IN_PROGRESS, SUCCEEDED). */
export const codeDeployStatus = (s: string): string => s.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();

type Json = Record<string, unknown>;
type Tone = 'good' | 'bad' | 'warning' | 'neutral';

/** What a chat message says, before Slack's or Teams' shape is put on it. */
export interface ChatSummary {
  title: string;
  tone: Tone;
  facts: [label: string, value: string][];
  /** The error, when there is one. */
  error?: string;
  /** What to run next: `ferry deploy status ID` (or approve/reject at the gate). */
  commands: string[];
  /** The console page, when the coordinator has a public URL. */
  link?: string;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** `Succeeded 2, Failed 1` from the payload's host counts (only the non-zero ones). */
function hostCounts(p: Json): string | undefined {
  const counts = Object.entries((p.overview ?? {}) as Record<string, number>).filter(([, n]) => Number(n) > 0);
  return counts.length === 0 ? undefined : counts.map(([s, n]) => `${s} ${Number(n)}`).join(', ');
}

function errorText(p: Json): string | undefined {
  const code = text(p.errorCode);
  const message = text(p.errorMessage);
  return code && message ? `${code}: ${message}` : (code ?? message);
}

const TONES: Record<string, Tone> = {
  DeploymentSuccess: 'good', InstanceSuccess: 'good', DeploymentFailure: 'bad', InstanceFailure: 'bad', DeploymentRollback: 'bad',
  DeploymentStop: 'warning', InstanceUnknown: 'warning', DeploymentAwaitingApproval: 'warning', DeploymentPause: 'warning',
};

/** The message for one event. `publicUrl` (no trailing slash) adds the console link. */
export function chatSummary(triggerName: string, e: FerryEvent, publicUrl?: string): ChatSummary {
  const p = e.payload;
  const where = `${e.application}/${e.groupName}`;
  if (e.kind === 'TriggerTest') {
    return { title: `Ferry test notification for trigger ${triggerName} of ${where}`, tone: 'neutral', facts: [['Application', e.application], ['Group', e.groupName]], commands: [] };
  }
  const id = e.deploymentId ?? '';
  const facts: [string, string][] = [['Application', e.application], ['Group', e.groupName], ['Deployment', id]];
  const revision = text(p.revision);
  if (revision) facts.push(['Revision', revision]);
  const status = e.hostId === undefined ? codeDeployStatus(e.status) : e.status;
  facts.push(['Status', status]);
  let title: string;
  if (e.hostId !== undefined) {
    const host = text(p.hostname) && p.hostname !== e.hostId ? `${e.hostId} (${String(p.hostname)})` : e.hostId;
    facts.push(['Host', host]);
    if (e.lifecycleEvent !== undefined) {
      facts.push(['Lifecycle event', e.lifecycleEvent]);
      title = `${e.lifecycleEvent} ${e.status} on ${host} in deployment ${id} of ${where}`;
    } else {
      title = `Host ${host}: ${e.status} in deployment ${id} of ${where}`;
    }
  } else if (e.kind === 'DeploymentAwaitingApproval') {
    title = `Deployment ${id} of ${where} awaits approval`;
  } else if (e.kind === 'DeploymentRollback') {
    title = `Deployment ${id} of ${where} is being rolled back${text(p.rolledBackBy) ? ` by ${String(p.rolledBackBy)}` : ''}`;
  } else {
    title = `Deployment ${id} of ${where}: ${status}`;
  }
  const hosts = hostCounts(p);
  if (hosts && e.hostId === undefined) facts.push(['Hosts', hosts]);
  const description = text(p.description);
  if (description) facts.push(['Description', description]);
  if (text(p.rollbackOf)) facts.push(['Rolls back', String(p.rollbackOf)]);
  if (e.kind === 'DeploymentAwaitingApproval' && text(p.pauseReason)) facts.push(['Waiting because', String(p.pauseReason)]);
  const commands = [`ferry deploy status ${id}`];
  if (e.kind === 'DeploymentAwaitingApproval') {
    if (text(p.approveCommand)) commands.push(String(p.approveCommand));
    if (text(p.rejectCommand)) commands.push(String(p.rejectCommand));
    const roles = Array.isArray(p.approverRoles) ? (p.approverRoles as string[]) : [];
    if (roles.length > 0) facts.push(['Who can approve', `a ${roles.join(' or ')} token`]);
  }
  const error = errorText(p);
  const link = publicUrl && id
    ? `${publicUrl}/ui/deployments/${encodeURIComponent(id)}${e.hostId !== undefined ? `/hosts/${encodeURIComponent(e.hostId)}` : ''}`
    : undefined;
  return { title, tone: TONES[e.kind] ?? 'neutral', facts, ...(error && { error }), commands, ...(link && { link }) };
}

/** Slack's mrkdwn: `&`, `<` and `>` are control characters (links, mentions); everything else is as is. */
export const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

const SLACK_EMOJI: Record<Tone, string> = { good: ':white_check_mark:', bad: ':x:', warning: ':warning:', neutral: ':information_source:' };

/**
 * A Slack incoming-webhook body: `text` (the notification and fallback line) and Block Kit
 * `blocks` — a header, the facts as fields (at most 10, each ≤ 2000 characters), the error, the
 * commands, and a button to the console page. https://api.slack.com/messaging/webhooks
 */
export function slackMessage(s: ChatSummary): Json {
  const fields = s.facts.slice(0, 10).map(([label, value]) => ({ type: 'mrkdwn', text: clip(`*${label}*\n${slackEscape(value)}`, 2000) }));
  const blocks: Json[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(s.title, 150), emoji: true } },
    { type: 'section', fields },
  ];
  if (s.error) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*Error*\n${slackEscape(s.error)}`, 3000) } });
  if (s.commands.length > 0) {
    blocks.push({ type: 'context', elements: s.commands.map(c => ({ type: 'mrkdwn', text: `\`${slackEscape(c)}\`` })) });
  }
  if (s.link) {
    blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in the Ferry console' }, url: s.link }] });
  }
  const line = `${SLACK_EMOJI[s.tone]} ${s.title}${s.error ? ` — ${s.error}` : ''}`;
  return { text: slackEscape(clip(line, 3000)), blocks };
}

const TEAMS_COLOR: Record<Tone, string> = { good: 'Good', bad: 'Attention', warning: 'Warning', neutral: 'Default' };

/**
 * A Microsoft Teams incoming-webhook body: a message with one Adaptive Card (version 1.4), which
 * both the Workflows "post to a channel when a webhook request is received" webhooks and the
 * classic connector ones show: the title, the facts as a FactSet, the error, the commands, and an
 * Action.OpenUrl to the console page.
 */
export function teamsMessage(s: ChatSummary): Json {
  const body: Json[] = [
    { type: 'TextBlock', text: s.title, weight: 'Bolder', size: 'Medium', wrap: true, color: TEAMS_COLOR[s.tone] },
    { type: 'FactSet', facts: s.facts.map(([title, value]) => ({ title, value })) },
  ];
  if (s.error) body.push({ type: 'TextBlock', text: `Error: ${s.error}`, wrap: true, color: 'Attention' });
  for (const c of s.commands) body.push({ type: 'TextBlock', text: c, wrap: true, fontType: 'Monospace', spacing: 'Small' });
  const card: Json = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', msteams: { width: 'Full' }, body,
    ...(s.link && { actions: [{ type: 'Action.OpenUrl', title: 'Open in the Ferry console', url: s.link }] }),
  };
  return {
    type: 'message', summary: s.title,
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }],
  };
}
