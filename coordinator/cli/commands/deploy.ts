import os from 'node:os';
import type { Command } from 'commander';
import { FerryError } from '../../../agent/errors.js';
import type { CreateDeploymentRequest } from '../../../proto/gen/ferry/v1/CreateDeploymentRequest.js';
import { parseDuration, parseFileExistsBehavior, parsePositiveInt, parseRevisionRef, requireText } from '../args.js';
import { followDeployment } from '../follow.js';
import { shortDigest } from '../format.js';
import { deploymentLines, deploymentTable } from '../render-deployment.js';
import type { Runner } from '../session.js';
import { registerLogsCommand } from './deploy-logs.js';
import { scheduleOnce } from './schedule.js';

/** Flags → CreateDeploymentRequest and the wait timeout; every flag checked before any call. */
export function createRequest(opts: Record<string, unknown>): { request: CreateDeploymentRequest; wait: boolean; timeoutMs?: number } {
  const request: CreateDeploymentRequest = {
    application: requireText(opts.app as string, '--app'),
    group: requireText(opts.group as string, '--group'),
    revision: parseRevisionRef(String(opts.revision)),
    configName: (opts.config as string | undefined) ?? '',
    description: (opts.description as string | undefined) ?? '',
    fileExistsBehavior: opts.fileExistsBehavior === undefined ? '' : parseFileExistsBehavior(String(opts.fileExistsBehavior)),
    ignoreApplicationStopFailures: opts.ignoreApplicationStopFailures === true,
    ...(opts.autoRollback !== undefined && { autoRollback: parseAutoRollbackFlag(String(opts.autoRollback)), overrideAutoRollback: true }),
    ...(opts.approveAfter !== undefined && parseApproveAfter(String(opts.approveAfter))),
    ...(opts.ignoreAlarms === true && { ignoreAlarms: true }),
    ...(opts.minHealthyTime !== undefined && { minHealthyTimeMs: parseDuration(String(opts.minHealthyTime), '--min-healthy-time') }),
    ...(opts.ignoreWindow === true && { ignoreWindow: true }),
  };
  const wait = opts.wait === true;
  if (opts.timeout === undefined) return { request, wait };
  if (!wait) throw new FerryError('INVALID_ARGUMENT', '--timeout: only with --wait');
  return { request, wait, timeoutMs: parseDuration(String(opts.timeout), '--timeout') };
}

export function registerDeployCommands(program: Command, r: Runner): void {
  const deploy = program
    .command('deploy')
    .description('deployments: one revision to one deployment group')
    .addHelpText('after', '\nExamples:\n  ferry deploy create --app shop --group web --revision latest --wait\n  ferry deploy status d-123');

  r.action(
    r
      .leaf(deploy, 'create', 'start a deployment; with --wait, follow it and exit with its outcome', [
        'ferry deploy create --app shop --group web --revision latest',
        'ferry deploy create --app shop --group web --revision 3f2a9c1e --wait --timeout 30m',
        'ferry deploy create --app shop --group web --revision latest --wait --json > result.json   # CI: exit code says how it ended',
        'ferry deploy create --app shop --group web --revision latest --at 2026-12-01T02:00Z   # one scheduled deployment (ferry schedule list)',
        'ferry deploy create --app shop --group web --revision 3f2a9c1e --ignore-window   # emergencies: the group\'s windows do not hold it',
      ])
      .requiredOption('--app <app>', 'the application')
      .requiredOption('--group <group>', 'the deployment group')
      .requiredOption('--revision <digest|prefix|latest>', 'a digest, a unique prefix of at least 8 hex digits, or latest')
      .option('--config <config>', 'a deployment config for this deployment only (the group\'s when not given)')
      .option('--description <text>', 'a note stored with the deployment')
      .option('--file-exists-behavior <behavior>', 'files the group did not install: DISALLOW (default), OVERWRITE or RETAIN')
      .option('--ignore-application-stop-failures', 'go on when the installed revision\'s ApplicationStop scripts fail')
      .option('--auto-rollback <events>', 'this deployment only: failure,alarm,stop or none (the group\'s policy when not given)')
      .option('--approve-after <n|first-zone>', 'pause once N hosts have succeeded (or, with a zonal config, once the first zone finished and was monitored), until ferry deploy approve (or reject)')
      .option('--min-healthy-time <duration>', 'bake time: a host counts as done this long after it succeeded, its alarms watched (default 0)')
      .option('--ignore-alarms', 'emergencies: the group\'s health alarms do not stop this deployment')
      .option('--ignore-window', 'emergencies: start now even outside the group\'s deployment windows')
      .option('--at <time>', 'create the deployment later, at this ISO 8601 time (e.g. 2026-12-01T02:00Z): a one-shot schedule')
      .option('--wait', 'follow the deployment until it ends; exit 0 Succeeded, 1 Failed, 3 Stopped, 4 rolled back, 5 timed out')
      .option('--timeout <duration>', 'with --wait: give up after this long (e.g. 90s, 30m, 1h); the deployment goes on'),
    async (s, _args, opts) => {
      const { request, wait, timeoutMs } = createRequest(opts);
      if (opts.at !== undefined) return scheduleOnce(s, request, String(opts.at), wait);
      const created = await s.api().createDeployment(request);
      const d = created.deployment;
      if (!d) throw new FerryError('INTERNAL', 'the coordinator created a deployment but did not return it');
      if (!wait) {
        if (s.out.json) return s.out.document(created);
        s.out.line(d.id);
        s.out.line(`created deployment ${d.id}: ${d.application}/${d.groupName} ← revision ${shortDigest(d.revision)} (config ${d.configName}, ${d.status})`);
        if (d.waitReason) s.out.line(`  ${d.waitReason}`);
        s.out.line(`follow it: ferry deploy status ${d.id}   hook output: ferry deploy logs ${d.id} --follow`);
        return;
      }
      s.out.line(d.id);
      return followDeployment(s, d.id, timeoutMs);
    },
  );

  r.action(
    r.leaf(deploy, 'status <id>', 'show a deployment: every host and lifecycle event, with status, duration and errors', [
      'ferry deploy status d-123',
      'ferry deploy status d-123 --json | jq \'.hosts[] | select(.status == "Failed")\'',
    ]),
    async (s, [id]) => {
      const detail = await s.api().getDeployment({ id: requireText(id, 'ID') });
      if (s.out.json) return s.out.document(detail);
      s.out.lines(deploymentLines(detail, s.now, s.out.c));
    },
  );

  r.action(
    r
      .leaf(deploy, 'list', 'list deployments, newest first', ['ferry deploy list', 'ferry deploy list --app shop --group web --limit 5'])
      .option('--app <app>', 'only this application\'s')
      .option('--group <group>', 'only this group\'s (with --app)')
      .option('--limit <n>', 'at most this many', '20'),
    async (s, _args, opts) => {
      if (opts.group !== undefined && opts.app === undefined) throw new FerryError('INVALID_ARGUMENT', '--group: give --app too');
      const res = await s.api().listDeployments({
        application: (opts.app as string | undefined) ?? '',
        group: (opts.group as string | undefined) ?? '',
        limit: parsePositiveInt(String(opts.limit), '--limit'),
      });
      if (s.out.json) return s.out.document(res);
      if (res.deployments.length === 0) return s.out.line('no deployments yet: start one with ferry deploy create');
      s.out.lines(deploymentTable(res.deployments, s.now, s.out.c));
    },
  );

  r.action(
    r
      .leaf(deploy, 'stop <id>', 'stop a deployment: no new host starts, hooks in flight are cancelled (their process group is killed)', [
        'ferry deploy stop d-123',
        'ferry deploy stop d-123 --reason "bad config in v42"',
      ])
      .option('--reason <text>', 'why (recorded with the stop)')
      .option('--rollback', 'also roll the hosts it touched back to the last successful revision'),
    async (s, [id], opts) => {
      const detail = await s.api().stopDeployment({
        id: requireText(id, 'ID'), reason: (opts.reason as string | undefined) ?? '', requestedBy: requester(),
        rollback: opts.rollback === true,
      });
      if (s.out.json) return s.out.document(detail);
      s.out.lines(deploymentLines(detail, s.now, s.out.c));
    },
  );

  for (const [verb, help, example] of [
    ['pause', 'pause a deployment: no new host starts until resumed (hosts in flight finish)', 'ferry deploy pause d-123'],
    ['resume', 'continue a paused deployment', 'ferry deploy resume d-123'],
    ['approve', 'open the approval gate of a deployment paused by --approve-after', 'ferry deploy approve d-123'],
    ['reject', 'reject a deployment at its approval gate: it stops, rolling back per the group\'s policy', 'ferry deploy reject d-123 --reason "error rate up"'],
  ] as const) {
    r.action(
      r.leaf(deploy, `${verb} <id>`, help, [example]).option('--reason <text>', 'why (recorded)'),
      async (s, [id], opts) => {
        const detail = await s.api().control(verb, {
          id: requireText(id, 'ID'), reason: (opts.reason as string | undefined) ?? '', requestedBy: requester(), rollback: false,
        });
        if (s.out.json) return s.out.document(detail);
        s.out.lines(deploymentLines(detail, s.now, s.out.c));
      },
    );
  }

  r.action(
    r.leaf(deploy, 'rollback <id>', 'roll an ended deployment back: a new deployment of the revision before it, to the hosts it touched', [
      'ferry deploy rollback d-123',
      'ferry deploy rollback d-123 --json | jq -r .deployment.id',
    ]),
    async (s, [id]) => {
      const detail = await s.api().rollbackDeployment({ id: requireText(id, 'ID') });
      if (s.out.json) return s.out.document(detail);
      const d = detail.deployment!;
      s.out.line(d.id);
      s.out.line(`rollback ${d.id} of ${d.rollbackOf}: revision ${shortDigest(d.revision)} to ${detail.hosts.length || 'the'} host(s) it touched (${d.status})`);
      s.out.line(`follow it: ferry deploy status ${d.id}`);
    },
  );

  r.action(
    r.leaf(deploy, 'redeploy <id>', 'deploy the same revision with the same config and options again, to the whole group', [
      'ferry deploy redeploy d-123',
    ]),
    async (s, [id]) => {
      const detail = await s.api().redeployDeployment({ id: requireText(id, 'ID') });
      if (s.out.json) return s.out.document(detail);
      const d = detail.deployment!;
      s.out.line(d.id);
      s.out.line(`redeploy ${d.id}: revision ${shortDigest(d.revision)} to ${d.application}/${d.groupName} (${d.status})`);
    },
  );

  registerLogsCommand(deploy, r);
}

/** Who is asking, recorded with a stop: user@hostname (no authentication yet). */
export function requester(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry for this uid
  }
  return `${user}@${os.hostname()}`;
}

/** `failure,alarm,stop` or `none`, checked here so a typo is a usage error (exit 2). */
export function parseAutoRollbackFlag(raw: string, flag = '--auto-rollback'): string[] {
  const list = raw.split(',').map(v => v.trim().toLowerCase()).filter(Boolean);
  if (list.length === 1 && list[0] === 'none') return [];
  const bad = list.filter(v => !['failure', 'alarm', 'stop'].includes(v));
  if (list.length === 0 || bad.length > 0) {
    throw new FerryError('INVALID_ARGUMENT', `${flag}: '${raw}' must be a comma-separated list of failure, alarm, stop — or none`);
  }
  return list;
}

/** `--approve-after N` (hosts) or `first-zone` (zonal configs: after the first zone and its monitor time). */
export function parseApproveAfter(raw: string): Pick<CreateDeploymentRequest, 'approveAfter' | 'hasApproveAfter' | 'approveAfterZones'> {
  const text = raw.trim();
  if (text === 'first-zone') return { approveAfterZones: 1 };
  if (!/^\d+$/.test(text)) throw new FerryError('INVALID_ARGUMENT', `--approve-after: '${raw}' must be a number of hosts or first-zone`);
  return { approveAfter: Number(text), hasApproveAfter: true };
}
