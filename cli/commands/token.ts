import type { Command } from 'commander';
import { agentInstallLine } from '../install-line.js';
import { FerryError } from '../../common/errors.js';
import type { TokenInfo__Output } from '../../proto/gen/ferry/v1/TokenInfo.js';
import { parseDuration, parsePositiveInt, requireText } from '../args.js';
import { formatTime, table } from '../format.js';
import type { Runner } from '../session.js';

const ROLES = ['viewer', 'deployer', 'admin', 'agent'];

function uses(t: TokenInfo__Output): string {
  return t.usesLeft < 0 ? 'unlimited' : String(t.usesLeft);
}

function state(t: TokenInfo__Output, now: number): string {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return 'expired';
  if (t.usesLeft === 0) return 'used up';
  return 'active';
}

export function registerTokenCommands(program: Command, r: Runner): void {
  const token = program
    .command('token')
    .description('API tokens (admin): viewer, deployer and admin tokens for people and pipelines; agent join tokens')
    .addHelpText('after', '\nExamples:\n  ferry token create --role deployer --description "GitHub Actions"\n  ferry token create --role agent --ttl 1h --uses 1\n  ferry token list\n  ferry token revoke abcdefghij12');

  r.action(
    r.leaf(token, 'create', 'make a token; it is printed once and only its hash is kept', [
      'ferry token create --role deployer --description ci',
      'ferry token create --role agent --ttl 1h --uses 1     # for ferry-agent enroll',
      'ferry token create --role viewer --json',
    ])
      .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
      .option('--ttl <duration>', 'expires after this long (e.g. 1h, 30d); default never')
      .option('--uses <n>', 'may be used this many times (join tokens); default unlimited')
      .option('--description <text>', 'what it is for (shown by ferry token list)')
      .option('--host-id <id>', 'join tokens: enroll only this host id, even when it is enrolled already (see ferry hosts reenroll)'),
    async (s, _args, opts) => {
      const role = String(opts.role);
      if (!ROLES.includes(role)) throw new FerryError('INVALID_ARGUMENT', `--role: '${role}' is not one of ${ROLES.join(', ')}`);
      const ttlMs = opts.ttl === undefined ? 0 : parseDuration(String(opts.ttl), '--ttl');
      const n = opts.uses === undefined ? 0 : parsePositiveInt(String(opts.uses), '--uses');
      const hostId = opts.hostId === undefined ? '' : requireText(String(opts.hostId), '--host-id');
      if (hostId && role !== 'agent') throw new FerryError('INVALID_ARGUMENT', `--host-id: only a join token (--role agent) is bound to a host, not a ${role} token`);
      const res = await s.api().createToken({ role, ttlMs, uses: n, description: opts.description === undefined ? '' : requireText(String(opts.description), '--description'), hostId });
      if (s.out.json) return s.out.document(res);
      s.out.line(res.token);
      s.out.error(`token ${res.info!.id} (${role}${res.info!.expiresAt ? `, expires ${formatTime(res.info!.expiresAt, s.config.zone)}` : ''}${n ? `, ${n} use${n > 1 ? 's' : ''}` : ''}${hostId ? `, host ${hostId} only` : ''}): shown once, keep it secret`);
      if (role === 'agent') {
        s.out.error(`install, enroll and start an agent on a new host (add --tag key=value, --zone Z; use the address hosts reach the coordinator by):`);
        s.out.error(`  ${agentInstallLine(s.config.coordinator, s.config.security, res.token)}`);
      }
    },
  );

  r.action(r.leaf(token, 'list', 'list tokens (never their secrets)', ['ferry token list', 'ferry token list --json']), async s => {
    const res = await s.api().listTokens();
    if (s.out.json) return s.out.document(res);
    s.out.lines(table(['ID', 'ROLE', 'STATE', 'USES LEFT', 'EXPIRES', 'CREATED BY', 'DESCRIPTION'], res.tokens.map(t => [
      t.id, t.role, state(t, s.now), uses(t), t.expiresAt ? formatTime(t.expiresAt, s.config.zone) : 'never', t.createdBy, t.hostId ? `${t.description}${t.description ? ' ' : ''}(host ${t.hostId})` : t.description,
    ])));
  });

  r.action(r.leaf(token, 'revoke <id>', 'revoke a token at once', ['ferry token revoke abcdefghij12']), async (s, [id]) => {
    const t = await s.api().revokeToken(requireText(id, 'ID'));
    if (s.out.json) return s.out.document(t);
    s.out.line(`revoked token ${t.id} (${t.role})`);
  });
}
