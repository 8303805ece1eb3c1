/** Webhook triggers as both the CLI and the coordinator check them. Pure. */

/**
 * What a webhook trigger may subscribe to: CodeDeploy's eight, InstanceUnknown (agent lost) and
 * DeploymentAwaitingApproval (the --approve-after gate closed: someone must approve or reject).
 */
export const TRIGGER_EVENTS = [
  'DeploymentStart', 'DeploymentSuccess', 'DeploymentFailure', 'DeploymentStop', 'DeploymentRollback', 'DeploymentAwaitingApproval',
  'InstanceStart', 'InstanceSuccess', 'InstanceFailure', 'InstanceUnknown',
] as const;
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number];

/**
 * A trigger's body: `json` (Ferry's signed JSON with CodeDeploy's fields, the default), `slack` (a
 * Slack incoming webhook: text plus blocks) or `teams` (a Microsoft Teams incoming webhook: a MessageCard).
 */
export const TRIGGER_FORMATS = ['json', 'slack', 'teams'] as const;
export type TriggerFormat = (typeof TRIGGER_FORMATS)[number];

/** CodeDeploy's limit of triggers per deployment group. */
export const MAX_TRIGGERS_PER_GROUP = 10;

/** Every problem of a trigger definition (docs/design/style.md §8), each naming its flag. */
export function triggerProblems(input: { name: string; url: string; events: readonly string[]; format?: string }): string[] {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(input.name)) {
    problems.push(`--name: '${input.name}' must be 1–100 letters, digits, '.', '_' or '-'`);
  }
  let url: URL | undefined;
  try {
    url = new URL(input.url);
  } catch {
    problems.push(`--url: '${input.url}' is not an absolute URL (e.g. https://hooks.example.com/ferry)`);
  }
  if (url && url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`--url: '${input.url}' must be http:// or https://`);
  // Credentials in a URL end up wherever the URL is shown (docs/security.md): the receiver checks the signature (--secret-file) instead.
  if (url && (url.username || url.password)) problems.push('--url: must not hold a user name or password (user:password@): the receiver authenticates Ferry by the X-Ferry-Signature of --secret-file');
  if (input.events.length === 0) problems.push(`--events: give at least one of ${TRIGGER_EVENTS.join(', ')}`);
  for (const e of input.events) {
    if (!(TRIGGER_EVENTS as readonly string[]).includes(e)) problems.push(`--events: '${e}' is not one of ${TRIGGER_EVENTS.join(', ')}`);
  }
  if (input.format !== undefined && input.format !== '' && !(TRIGGER_FORMATS as readonly string[]).includes(input.format)) {
    problems.push(`--format: '${input.format}' is not one of ${TRIGGER_FORMATS.join(', ')}`);
  }
  return problems;
}
