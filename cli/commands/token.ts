import type { Command } from 'commander';
import { agentInstallLine } from '../install-line.js';
import { FerryError } from '../../common/errors.js';
import type { TokenInfo__Output } from '../../proto/gen/ferry/v1/TokenInfo.js';
import { parseDuration, parsePositiveInt, requireText } from '../args.js';
import { parseTag } from '../../common/parse.js';
import { formatTags, formatTime, table } from '../format.js';
import type { Runner } from '../session.js';

const ROLES = ['viewer', 'deployer', 'admin', 'agent'];
const collect = (value: string, previous: string[]) => [...previous, value];

function uses(t: TokenInfo__Output): string {
  return t.usesLeft < 0 ? 'unlimited' : String(t.usesLeft);
}

function state(t: TokenInfo__Output, now: number): string {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return 'expired';
  if (t.usesLeft === 0) return 'used up';
  return 'active';
}

/** The description, with what a join token is bound to and grants. */
function describeToken(t: TokenInfo__Output): string {
  const extra = [...(t.hostId ? [`host ${t.hostId}`] : []), ...(Object.keys(t.tags ?? {}).length > 0 ? [`grants ${formatTags(t.tags)}`] : [])];
  return extra.length > 0 ? `${t.description}${t.description ? ' ' : ''}(${extra.join('; ')})` : t.description;
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
      'ferry token create --role agent --uses 10 --tag role=web --tag env=prod   # hosts it enrolls are granted these tags',
      'ferry token create --role viewer --json',
    ])
      .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
      .option('--ttl <duration>', 'expires after this long (e.g. 1h, 30d); default never')
      .option('--uses <n>', 'may be used this many times (join tokens); default unlimited')
      .option('--description <text>', 'what it is for (shown by ferry token list)')
      .option('--host-id <id>', 'join tokens: enroll only this host id, even when it is enrolled already (see ferry hosts reenroll)')
      .option('--tag <key=value>', 'join tokens: a tag granted to the hosts it enrolls (repeatable); an agent\'s other tags are ignored', collect, []),
    async (s, _args, opts) => {
      const role = String(opts.role);
      if (!ROLES.includes(role)) throw new FerryError('INVALID_ARGUMENT', `--role: '${role}' is not one of ${ROLES.join(', ')}`);
      const ttlMs = opts.ttl === undefined ? 0 : parseDuration(String(opts.ttl), '--ttl');
      const n = opts.uses === undefined ? 0 : parsePositiveInt(String(opts.uses), '--uses');
      const hostId = opts.hostId === undefined ? '' : requireText(String(opts.hostId), '--host-id');
      if (hostId && role !== 'agent') throw new FerryError('INVALID_ARGUMENT', `--host-id: only a join token (--role agent) is bound to a host, not a ${role} token`);
      const tags = Object.fromEntries((opts.tag as string[]).map(t => parseTag('--tag', t)));
      if (Object.keys(tags).length > 0 && role !== 'agent') throw new FerryError('INVALID_ARGUMENT', `--tag: only a join token (--role agent) grants tags, not a ${role} token`);
      const res = await s.api().createToken({ role, ttlMs, uses: n, description: opts.description === undefined ? '' : requireText(String(opts.description), '--description'), hostId, tags });
      if (s.out.json) return s.out.document(res);
      s.out.line(res.token);
      s.out.error(`token ${res.info!.id} (${role}${res.info!.expiresAt ? `, expires ${formatTime(res.info!.expiresAt, s.config.zone)}` : ''}${n ? `, ${n} use${n > 1 ? 's' : ''}` : ''}${hostId ? `, host ${hostId} only` : ''}): shown once, keep it secret`);
      if (role === 'agent') {
        s.out.error(Object.keys(tags).length > 0
          ? `hosts it enrolls are granted the tags ${formatTags(tags)}; an agent's other tags are ignored`
          : 'hosts it enrolls are granted no tags: grant them with ferry hosts set-tags ID key=value …, or make the token with --tag key=value');
        s.out.error(`install, enroll and start an agent on a new host (add --tag key=value, --zone Z; use the address hosts reach the coordinator by):`);
        s.out.error(`  ${agentInstallLine(s.config.coordinator, s.config.security, res.token)}`);
      }
    },
  );

  r.action(r.leaf(token, 'list', 'list tokens (never their secrets)', ['ferry token list', 'ferry token list --json']), async s => {
    const res = await s.api().listTokens();
    if (s.out.json) return s.out.document(res);
    s.out.lines(table(['ID', 'ROLE', 'STATE', 'USES LEFT', 'EXPIRES', 'CREATED BY', 'DESCRIPTION'], res.tokens.map(t => [
      t.id, t.role, state(t, s.now), uses(t), t.expiresAt ? formatTime(t.expiresAt, s.config.zone) : 'never', t.createdBy, describeToken(t),
    ])));
  });

  r.action(r.leaf(token, 'revoke <id>', 'revoke a token at once', ['ferry token revoke abcdefghij12']), async (s, [id]) => {
    const t = await s.api().revokeToken(requireText(id, 'ID'));
    if (s.out.json) return s.out.document(t);
    s.out.line(`revoked token ${t.id} (${t.role})`);
  });
}
