import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { FerryError, describeError } from '../../common/errors.js';
import { TRIGGER_EVENTS, TRIGGER_FORMATS, triggerProblems } from '../../common/triggers.js';
import type { TriggerInfo__Output } from '../../proto/gen/ferry/v1/TriggerInfo.js';
import { requireText } from '../args.js';
import { formatTime, table , type Zone, UTC } from '../format.js';
import type { Runner } from '../session.js';

/** `--events a,b` → the list; every problem of the flags at once (exit 2). Pure. */
export function parseTriggerFlags(o: { name: string; url: string; events: string; format?: string }): { name: string; url: string; events: string[]; format?: string } {
  const events = o.events.split(',').map(e => e.trim()).filter(Boolean);
  const input = { name: o.name.trim(), url: o.url.trim(), events, ...(o.format !== undefined && { format: o.format.trim() }) };
  const problems = triggerProblems(input);
  if (problems.length === 1) throw new FerryError('INVALID_ARGUMENT', problems[0]!);
  if (problems.length > 1) throw new FerryError('INVALID_ARGUMENT', `${problems.length} problems:\n  ${problems.join('\n  ')}`);
  return input;
}

/** The secret from `--secret-file` (one line; surrounding blanks dropped). */
export function readSecretFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FerryError('INVALID_ARGUMENT', `--secret-file: cannot read ${file}: ${describeError(err)}`);
  }
  const secret = text.trim();
  if (secret.length < 16) throw new FerryError('INVALID_ARGUMENT', `--secret-file: ${file} must hold a secret of at least 16 characters`);
  return secret;
}

/** The "Triggers" part of `ferry group show`. Pure. */
export function triggerLines(triggers: readonly TriggerInfo__Output[], zone: Zone = UTC): string[] {
  if (triggers.length === 0) return ['', 'Triggers: none (add one with ferry group set-trigger)'];
  const rows = triggers.map(t => [
    t.name, t.format || 'json', t.url, t.events.join(','),
    t.lastAttemptAt ? `${t.lastError ? 'failing' : 'ok'}${t.lastStatus ? ` (HTTP ${t.lastStatus})` : ''} ${formatTime(t.lastAttemptAt, zone)}` : 'not tried yet',
    `${t.delivered} delivered, ${t.pending} pending, ${t.failedAttempts} failed attempts${t.givenUp ? `, ${t.givenUp} given up` : ''}`,
  ]);
  const lines = ['', `Triggers: ${triggers.length}`, ...table(['NAME', 'FORMAT', 'URL', 'EVENTS', 'LAST ATTEMPT', 'DELIVERIES'], rows, '  ')];
  for (const t of triggers) if (t.lastError) lines.push(`  ${t.name}: last error: ${t.lastError}`);
  return lines;
}

export function registerTriggerCommands(group: Command, r: Runner): void {
  r.action(
    r
      .leaf(group, 'set-trigger', 'create or replace a webhook trigger: signed JSON POSTs on deployment and instance events', [
        'ferry group set-trigger --app shop --group web --name ops --url https://hooks.example.com/ferry \\',
        '    --events DeploymentStart,DeploymentSuccess,DeploymentFailure',
        'ferry group set-trigger --app shop --group web --name audit --url http://10.0.0.5:8080/in --events InstanceFailure --secret-file ./secret',
        '  # a new trigger without --secret-file gets a generated secret, printed this once: keep it to verify X-Ferry-Signature',
        '  # a test notification is sent at once; see delivery state with ferry group show',
      ])
      .requiredOption('--app <app>', 'the application')
      .requiredOption('--group <group>', 'the deployment group')
      .requiredOption('--name <name>', 'the trigger\'s name (unique in the group)')
      .requiredOption('--url <url>', 'where to POST (http:// or https://)')
      .requiredOption('--events <events>', `comma-separated: ${TRIGGER_EVENTS.join(', ')}`)
      .option('--format <format>', `the body: ${TRIGGER_FORMATS.join(', ')}: json is signed JSON with CodeDeploy's fields; slack a Slack incoming-webhook message; teams a Microsoft Teams card (default json for a new trigger, kept for an existing one)`)
      .option('--secret-file <file>', 'HMAC secret (≥ 16 characters) from this file; default: generated for a new trigger, kept for an existing one'),
    async (s, _args, opts) => {
      const input = parseTriggerFlags({
        name: String(opts.name), url: String(opts.url), events: String(opts.events), ...(opts.format !== undefined && { format: String(opts.format) }),
      });
      const secret = opts.secretFile === undefined ? '' : readSecretFile(String(opts.secretFile));
      const res = await s.api().setTrigger({
        application: requireText(opts.app as string, '--app'), group: requireText(opts.group as string, '--group'), ...input, secret,
      });
      // The generated secret is in the response once; it is never shown again.
      if (s.out.json) return s.out.document(res);
      const t = res.trigger;
      s.out.line(`${res.created ? 'created' : 'updated'} trigger ${t?.name ?? input.name} of ${String(opts.app)}/${String(opts.group)}: POST ${t?.url ?? input.url} (${t?.format || input.format || 'json'}) on ${(t?.events ?? input.events).join(', ')}`);
      if (res.generatedSecret) {
        s.out.line(`secret: ${res.generatedSecret}`);
        s.out.line('  (shown this once: receivers verify X-Ferry-Signature = sha256=HMAC-SHA256(secret, body); see docs/notifications.md)');
      }
      s.out.line(`a test notification is queued (event seq ${res.testEventSeq}); its delivery shows in: ferry group show --app ${String(opts.app)} --name ${String(opts.group)}`);
    },
  );

  r.action(
    r
      .leaf(group, 'remove-trigger', 'remove a webhook trigger (its pending deliveries are dropped)', [
        'ferry group remove-trigger --app shop --group web --name ops',
      ])
      .requiredOption('--app <app>', 'the application')
      .requiredOption('--group <group>', 'the deployment group')
      .requiredOption('--name <name>', 'the trigger'),
    async (s, _args, opts) => {
      const g = await s.api().removeTrigger({
        application: requireText(opts.app as string, '--app'), group: requireText(opts.group as string, '--group'), name: requireText(opts.name as string, '--name'),
      });
      if (s.out.json) return s.out.document(g);
      s.out.line(`removed trigger ${String(opts.name)} of ${g.application}/${g.name}; ${g.triggers.length === 0 ? 'no triggers left' : `left: ${g.triggers.map(t => t.name).join(', ')}`}`);
    },
  );
}
