import type { Command } from 'commander';
import { status as grpcStatus } from '@grpc/grpc-js';
import { FerryError } from '../../common/errors.js';
import { hostLabel } from '../../common/text.js';
import { EXIT, grpcCodeOf } from '../exit-codes.js';
import type { HostInfo__Output } from '../../proto/gen/ferry/v1/HostInfo.js';
import type { HostsSummary__Output } from '../../proto/gen/ferry/v1/HostsSummary.js';
import type { HostAlarm__Output } from '../../proto/gen/ferry/v1/HostAlarm.js';
import { parseTag } from '../../common/parse.js';
import { parseDuration, parsePositiveInt, requireText } from '../args.js';
import { NONE, formatAgo, formatBytes, formatTags, formatTime, keyValues, orNone, shortDigest, table , type Zone, UTC } from '../format.js';
import { COLORS, type Paint } from '../output.js';
import { colorStatus, hostHistoryTable } from '../render-deployment.js';
import type { Runner, Session } from '../session.js';

const LIST_STATES = ['connected', 'reconnecting', 'lost', 'revoked'];

/** The counts when the coordinator sends none (one before paged ListHosts): from the hosts listed. */
function summarize(hosts: readonly HostInfo__Output[]): HostsSummary__Output {
  const count = (st: string) => hosts.filter(h => (h.state || (h.connected ? 'connected' : 'reconnecting')) === st).length;
  return { total: hosts.length, connected: count('connected'), reconnecting: count('reconnecting'), lost: count('lost'), revoked: count('revoked'), matched: hosts.length };
}

/** `10000 hosts: 9998 connected, 0 reconnecting, 2 lost, 0 revoked; 100 of 9998 matching shown; next page: …`. Pure. */
export function summaryLine(s: HostsSummary__Output, shown: number, nextAfter: string): string {
  const counts = `${s.total} host${s.total === 1 ? '' : 's'}: ${s.connected} connected, ${s.reconnecting} reconnecting, ${s.lost} lost, ${s.revoked} revoked`;
  const page = `${shown} of ${s.matched} matching shown`;
  return `${counts}; ${page}${nextAfter ? `; next page: ferry hosts list --after ${nextAfter}` : ''}`;
}

/** A host by its id, else the one host with this hostname (so `ferry hosts show web-1` works too). */
async function getHostByRef(s: Session, ref: string): Promise<HostInfo__Output> {
  try {
    return await s.api().getHost({ id: ref });
  } catch (err) {
    if (grpcCodeOf(err) !== grpcStatus.NOT_FOUND) throw err;
    const named = (await s.api().listHosts()).hosts.filter(h => h.hostname === ref);
    if (named.length === 1) return named[0]!;
    if (named.length > 1) throw new FerryError('INVALID_ARGUMENT', `ID: hostname ${ref} is shared by hosts ${named.map(h => h.id).join(', ')}; give the host id`);
    throw err;
  }
}

/** connected / reconnecting / lost, as the coordinator judges it from the agent's heartbeats; revoked. */
export function hostState(h: HostInfo__Output, now: number, c: Paint): string {
  const state = h.state || (h.connected ? 'connected' : 'disconnected');
  if (state === 'connected') return c(COLORS.green, 'connected');
  if (state === 'revoked') return c(COLORS.red, `revoked (enroll again to come back), seen ${formatAgo(h.lastSeenAt, now)}`);
  const seen = `seen ${formatAgo(h.lastSeenAt, now)}`;
  return state === 'lost' ? c(COLORS.red, `lost, ${seen}`) : c(COLORS.yellow, `${state}, ${seen}`);
}

/** `group:digest` for each group the host has a revision of. */
export function hostRevisions(h: HostInfo__Output): string {
  if (h.revisions.length === 0) return NONE;
  return h.revisions.map(r => `${r.application}/${r.groupName}:${shortDigest(r.revision)}`).join(', ');
}

/** The agent's version, and the one the coordinator serves when it differs: `0.1.0 (out of date: 0.2.0)`. */
export function agentVersionText(h: HostInfo__Output, c: Paint): string {
  if (!h.agentOutOfDate) return orNone(h.agentVersion);
  return `${orNone(h.agentVersion)} ${c(COLORS.yellow, `(out of date: ${h.latestAgentVersion})`)}`;
}

/** Each alarm as `name STATE since TIME` (red for ALARM). Pure. */
export function alarmText(a: HostAlarm__Output, c: Paint, zone: Zone = UTC): string {
  const color = a.state === 'ALARM' ? COLORS.red : a.state === 'OK' ? COLORS.green : COLORS.yellow;
  return `${a.name} ${c(color, a.state)}${a.since ? ` since ${formatTime(a.since, zone)}` : ''}`;
}

export function hostsTable(hosts: readonly HostInfo__Output[], now: number, c: Paint, zone: Zone = UTC): string[] {
  const withAlarms = hosts.some(h => h.alarms.length > 0);
  const rows = hosts.map(h => [
    h.id, h.hostname, formatTags(h.tags), orNone(h.zone), hostState(h, now, c), agentVersionText(h, c), hostRevisions(h),
    ...(withAlarms ? [h.alarms.map(a => alarmText(a, c, zone)).join(', ') || NONE] : []),
  ]);
  return table(['ID', 'HOSTNAME', 'TAGS', 'ZONE', 'STATE', 'AGENT', 'REVISIONS', ...(withAlarms ? ['ALARMS'] : [])], rows);
}

export function hostLines(h: HostInfo__Output, now: number, c: Paint, zone: Zone = UTC): string[] {
  const f = h.facts;
  const disk = f && f.diskTotalBytes > 0 ? `${formatBytes(f.diskFreeBytes)} free of ${formatBytes(f.diskTotalBytes)}` : NONE;
  const lines = keyValues([
    ['Host', hostLabel(h.id, h.hostname)],
    ['Tags', formatTags(h.tags)],
    ...(h.tagsGranted ? [['Granted tags', formatTags(h.grantedTags)] as [string, string]] : []),
    ...(Object.keys(h.ignoredTags ?? {}).length > 0 ? [['Ignored tags', `${formatTags(h.ignoredTags)} (its agent sends them, they are not granted: ferry hosts set-tags ${h.id} …)`] as [string, string]] : []),
    ['Zone', orNone(h.zone)],
    ['State', hostState(h, now, c)],
    ['Last seen', `${formatTime(h.lastSeenAt, zone)} (${formatAgo(h.lastSeenAt, now)})`],
    ['Registered', formatTime(h.registeredAt, zone)],
    ['Agent', agentVersionText(h, c)],
    ['OS', orNone(f?.os)],
    ['Kernel', orNone(f?.kernel)],
    ['Arch', orNone(f?.arch)],
    ['CPUs', f && f.cpus > 0 ? String(f.cpus) : NONE],
    ['Memory', f && f.memoryBytes > 0 ? formatBytes(f.memoryBytes) : NONE],
    ['Disk', disk],
  ]);
  lines.push('', 'Alarms:');
  if (h.alarms.length === 0) lines.push('  none reported (the host\'s groups define none, or its agent has not reported yet)');
  else lines.push(...table(['ALARM', 'STATE', 'SINCE', 'REASON'], h.alarms.map(a => [a.name, alarmText({ ...a, name: '', since: '' }, c).trim(), formatTime(a.since, zone), orNone(a.reason)]), '  '));
  lines.push('', 'Revisions:');
  if (h.revisions.length === 0) lines.push('  none installed by Ferry yet');
  else {
    const rows = h.revisions.map(r => [r.application, r.groupName, shortDigest(r.revision), colorStatus(r.lastStatus, c)]);
    lines.push(...table(['APP', 'GROUP', 'REVISION', 'LAST DEPLOYMENT'], rows, '  '));
  }
  return lines;
}

export function registerHostsCommands(program: Command, r: Runner): void {
  const hosts = program
    .command('hosts')
    .description('hosts: the machines whose agents have registered with the coordinator')
    .addHelpText('after', '\nExamples:\n  ferry hosts list\n  ferry hosts show h-123');

  r.action(
    r.leaf(hosts, 'list', 'list hosts: tags, zone, connection, agent version, revision per group; a page at a time (by id), with a summary line of counts', [
      'ferry hosts list',
      'ferry hosts list --state lost --tag role=web',
      'ferry hosts list --limit 500 --after web-0420 --json',
    ])
      .option('--limit <n>', 'at most this many hosts (the summary line counts them all)', '100')
      .option('--after <id>', 'the hosts after this host id (the next page: the summary line says which)')
      .option('--tag <key=value>', 'only hosts with this tag (repeatable: all of them)', (v: string, p: string[]) => [...p, v], [] as string[])
      .option('--state <state>', `only hosts in this state: ${LIST_STATES.join(', ')}`),
    async (s, _args, opts) => {
      const limit = parsePositiveInt(String(opts.limit), '--limit');
      const state = opts.state === undefined ? '' : String(opts.state);
      if (state && !LIST_STATES.includes(state)) throw new FerryError('INVALID_ARGUMENT', `--state: '${state}' is not one of ${LIST_STATES.join(', ')}`);
      const tags = Object.fromEntries((opts.tag as string[]).map(t => parseTag('--tag', t)));
      const res = await s.api().listHosts({ limit, after: opts.after === undefined ? '' : String(opts.after), tags, state });
      const summary = res.summary ?? summarize(res.hosts);
      if (s.out.json) return s.out.document({ hosts: res.hosts, summary, nextAfter: res.nextAfter ?? '' });
      if (summary.total === 0) return s.out.line('no hosts yet: start ferry-agent on a machine, pointed at this coordinator');
      if (res.hosts.length > 0) s.out.lines(hostsTable(res.hosts, s.now, s.out.c, s.config.zone));
      s.out.line(summaryLine(summary, res.hosts.length, res.nextAfter ?? ''));
    },
  );

  r.action(
    r.leaf(hosts, 'show <id>', 'show a host: its facts (OS, kernel, CPUs, memory, disk), revisions, and the deployments that touched it (newest first)', [
      'ferry hosts show h-123',
      'ferry hosts show web-1 --limit 50',
      "ferry hosts show h-123 --json | jq '.history[] | select(.result.status == \"Failed\")'",
    ]).option('--limit <n>', 'at most this many deployments in its history', '10'),
    async (s, [id], opts) => {
      const ref = requireText(id, 'ID');
      const limit = parsePositiveInt(String(opts.limit), '--limit');
      const h = await getHostByRef(s, ref);
      const res = await s.api().listDeployments({ application: '', group: '', host: h.id, limit });
      const history = res.deployments.map((deployment, i) => ({ deployment, result: res.hostResults[i] ?? null }));
      if (s.out.json) return s.out.document({ ...h, history });
      s.out.lines(hostLines(h, s.now, s.out.c, s.config.zone));
      s.out.line('');
      s.out.line(`Deployments (newest first, at most ${limit}; more with ferry deploy list --host ${h.id} --limit N):`);
      if (history.length === 0) s.out.line('  none has targeted this host yet');
      else s.out.lines(hostHistoryTable(res.deployments, res.hostResults, s.out.c, '  ', s.config.zone));
    },
  );

  r.action(
    r.leaf(hosts, 'upgrade', 'roll the agent binary the coordinator serves (DATA/agent/) over hosts, a batch at a time: each agent waits for its deployments, verifies the download and replaces itself; a host that fails (or does not reconnect, and is rolled back) stops the rollout', [
      'ferry hosts upgrade --all',
      'ferry hosts upgrade --group web --batch 5',
      'ferry hosts upgrade --host web-1 --timeout 10m --json',
    ])
      .option('--all', 'every registered host')
      .option('--group <name>', 'the hosts of this deployment group')
      .option('--app <name>', 'with --group: the application, when several have a group of that name')
      .option('--host <id>', 'one host, by id or hostname')
      .option('--batch <n>', 'hosts upgraded at the same time', '1')
      .option('--timeout <duration>', 'how long one host may take: waiting for its deployment, the swap, reconnecting', '5m'),
    async (s, _args, opts) => {
      const chosen = ['all', 'group', 'host'].filter(k => opts[k] !== undefined && opts[k] !== false);
      if (chosen.length !== 1) {
        throw new FerryError('INVALID_ARGUMENT', chosen.length === 0 ? 'give one of --all, --group G or --host H' : `give only one of --all, --group, --host (got ${chosen.map(k => `--${k}`).join(', ')})`);
      }
      if (opts.app !== undefined && opts.group === undefined) throw new FerryError('INVALID_ARGUMENT', '--app: only with --group');
      const batch = parsePositiveInt(String(opts.batch), '--batch');
      const timeoutMs = parseDuration(String(opts.timeout), '--timeout');
      if (timeoutMs < 10_000) throw new FerryError('INVALID_ARGUMENT', `--timeout: ${String(opts.timeout)} is under 10s, too short for an agent to restart`);
      const res = await s.api().upgradeHosts({
        all: opts.all === true, group: opts.group === undefined ? '' : requireText(String(opts.group), '--group'),
        application: opts.app === undefined ? '' : requireText(String(opts.app), '--app'),
        host: opts.host === undefined ? '' : requireText(String(opts.host), '--host'), batch, timeoutMs,
      });
      if (s.out.json) s.out.document(res);
      else {
        const paint = (st: string) => st === 'Upgraded' || st === 'UpToDate' ? s.out.c(COLORS.green, st) : st === 'Failed' ? s.out.c(COLORS.red, st) : s.out.c(COLORS.yellow, st);
        s.out.lines(table(['HOST', 'HOSTNAME', 'BATCH', 'FROM', 'TO', 'STATUS', 'MESSAGE'], res.hosts.map(h => [
          h.hostId, h.hostname, h.batch > 0 ? String(h.batch) : NONE, orNone(h.fromVersion), orNone(h.toVersion), paint(h.status), orNone(h.message),
        ])));
        s.out.line(res.status === 'Succeeded' ? 'agent upgrade succeeded' : 'agent upgrade failed: the hosts after the failure were not touched (see MESSAGE)');
      }
      return res.status === 'Succeeded' ? EXIT.ok : EXIT.failed;
    },
  );

  r.action(r.leaf(hosts, 'revoke <id>', "revoke the host's certificates: it is disconnected and cannot reconnect until enrolled again", ['ferry hosts revoke web-1']), async (s, [id]) => {
    const res = await s.api().revokeHost(requireText(id, 'ID'));
    if (s.out.json) return s.out.document(res);
    s.out.line(`revoked ${res.revoked} certificate${res.revoked === 1 ? '' : 's'} of host ${res.hostId}; it is disconnected`);
    s.out.line(`to let it back: ferry token create --role agent --uses 1, then on the host: ferry-agent enroll …`);
  });

  r.action(
    r.leaf(hosts, 'set-tags <id> [tags...]', 'grant a host its tags (replacing what it was granted): of the tags its agent sends, only granted ones take effect', [
      'ferry hosts set-tags web-1 role=web env=prod',
      'ferry hosts set-tags web-1 --none        # grants no tags: the host leaves every group that selects by tag',
      'ferry hosts set-tags web-1 role=web --json',
    ]).option('--none', 'grant no tags at all'),
    async (s, [id, list], opts) => {
      const hostId = requireText(String(id), 'ID');
      const given = (list as unknown as string[] | undefined) ?? [];
      if (given.length === 0 && !opts.none) throw new FerryError('INVALID_ARGUMENT', 'TAGS: give the tags to grant as key=value …, or --none to grant none');
      if (given.length > 0 && opts.none) throw new FerryError('INVALID_ARGUMENT', '--none: give either tags or --none, not both');
      const tags = Object.fromEntries(given.map(t => parseTag('TAGS', t)));
      const h = await s.api().setHostTags({ id: hostId, tags });
      if (s.out.json) return s.out.document(h);
      s.out.line(`host ${hostId} is granted ${Object.keys(tags).length > 0 ? formatTags(tags) : 'no tags'}; its tags now: ${formatTags(h.tags ?? {})}`);
      if (Object.keys(h.ignoredTags ?? {}).length > 0) s.out.line(`its agent also sends ${formatTags(h.ignoredTags)}: not granted, ignored`);
    },
  );

  r.action(
    r.leaf(hosts, 'remove <id>', 'retire a host: it leaves the host list and every group (its deployment history stays); its certificates are revoked, so its agent, if it returns, must enroll again', [
      'ferry hosts remove web-1',
      'ferry hosts remove web-1 --json',
    ]),
    async (s, [id]) => {
      const res = await s.api().removeHost(requireText(id, 'ID'));
      if (s.out.json) return s.out.document(res);
      s.out.line(`removed host ${hostLabel(res.hostId, res.hostname)}: it left ${res.groups.length === 0 ? 'no group' : `group(s) ${res.groups.join(', ')}`}; ${res.revokedCertificates} certificate(s) revoked`);
      s.out.line('its deployment history stays (ferry deploy list --host ' + res.hostId + '); to bring it back, enroll it again: ferry token create --role agent --uses 1, then on the host ferry-agent enroll …');
    },
  );

  r.action(
    r.leaf(hosts, 'reenroll <id>', 'allow one new enrollment of an enrolled host id: prints a one-use join token for that id only; when used, the host\'s earlier certificates are revoked', [
      'ferry hosts reenroll web-1',
      'ferry hosts reenroll web-1 --ttl 15m --json',
    ]).option('--ttl <duration>', 'the token expires after this long', '1h'),
    async (s, [id], opts) => {
      const hostId = requireText(id, 'ID');
      const res = await s.api().createToken({ role: 'agent', uses: 1, ttlMs: parseDuration(String(opts.ttl), '--ttl'), hostId, description: `reenroll ${hostId}` });
      if (s.out.json) return s.out.document(res);
      s.out.line(res.token);
      s.out.error(`a one-use join token for host ${hostId} only (token ${res.info!.id}, expires ${formatTime(res.info!.expiresAt, s.config.zone)}): shown once, keep it secret`);
      s.out.error(`on the host: ferry-agent enroll --token … --host-id ${hostId} --ca-fingerprint … (or ferry-agent install --reenroll --token …)`);
    },
  );
}
