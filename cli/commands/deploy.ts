import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import { parsePositiveInt, requireText } from '../args.js';
import { FOLLOW_ROLLBACK_HELP, withDeploymentOptions } from '../deploy-options.js';
import { followDeployment } from '../follow.js';
import { shortDigest } from '../format.js';
import { deploymentLines, deploymentTable, hostHistoryTable } from '../render-deployment.js';
import type { Runner } from '../session.js';
import { registerAgainCommands } from './deploy-again.js';
import { registerLogsCommand } from './deploy-logs.js';
import { registerPlanCommand } from './deploy-plan.js';
import { createRequest, requester } from '../deploy-request.js';
import { registerWaitCommand } from './deploy-wait.js';
import { scheduleOnce } from './schedule.js';

export function registerDeployCommands(program: Command, r: Runner): void {
  const deploy = program
    .command('deploy')
    .description('deployments: one revision to one deployment group')
    .addHelpText('after', '\nExamples:\n  ferry deploy create --app shop --group web --revision latest --wait\n  ferry deploy status d-123');

  r.action(
    withDeploymentOptions(r
      .leaf(deploy, 'create', 'start a deployment; with --wait, follow it and exit with its outcome', [
        'ferry deploy create --app shop --group web --revision latest',
        'ferry deploy create --app shop --group web --revision 3f2a9c1e --wait --timeout 30m',
        'ferry deploy create --app shop --group web --revision latest --wait --json > result.json   # CI: exit code says how it ended',
        'ferry deploy create --app shop --group web --revision latest --wait --follow-rollback   # exit 4 only once the rollback ended',
        'ferry deploy create --from-plan p-7KQ2M9X1A --wait   # exactly what ferry deploy plan showed',
        'ferry deploy create --app shop --group web --revision latest --at 2026-12-01T02:00Z   # one scheduled deployment (ferry schedule list)',
        'ferry deploy create --app shop --group web --revision 3f2a9c1e --ignore-window   # emergencies: the group\'s windows do not hold it',
      ])
      .option('--app <app>', 'the application (required, unless --from-plan)')
      .option('--group <group>', 'the deployment group (required, unless --from-plan)')
      .option('--revision <digest|prefix|latest>', 'a digest, a unique prefix of at least 8 hex digits, or latest (required, unless --from-plan)')
      .option('--from-plan <id>', 'execute a plan made by ferry deploy plan: its revision, config and options; refused if the group or its hosts changed since')
      .option('--ignore-window', 'emergencies: start now even outside the group\'s deployment windows')
      .option('--follow-rollback', FOLLOW_ROLLBACK_HELP)
      .option('--at <time>', 'create the deployment later, at this ISO 8601 time (e.g. 2026-12-01T02:00Z): a one-shot schedule')),
    async (s, _args, opts) => {
      const { request, wait, timeoutMs, followRollback } = createRequest(opts);
      if (opts.at !== undefined) return scheduleOnce(s, request, String(opts.at), wait);
      const created = await s.api().createDeployment(request);
      const d = created.deployment;
      if (!d) throw new FerryError('INTERNAL', 'the coordinator created a deployment but did not return it');
      if (!wait) {
        if (s.out.json) return s.out.document(created);
        s.out.line(d.id);
        s.out.line(`created deployment ${d.id}: ${d.application}/${d.groupName} ← revision ${shortDigest(d.revision)} (config ${d.configName}, ${d.status})`);
        if (request.planId) s.out.line(`as planned in ${request.planId} (ferry deploy plan --show ${request.planId})`);
        if (d.waitReason) s.out.line(`  ${d.waitReason}`);
        s.out.line(`follow it: ferry deploy status ${d.id}   hook output: ferry deploy logs ${d.id} --follow`);
        return;
      }
      s.out.line(d.id);
      return followDeployment(s, d.id, { ...(timeoutMs !== undefined && { timeoutMs }), ...(followRollback && { followRollback }) });
    },
  );

  r.action(
    r.leaf(deploy, 'status <id>', 'show a deployment: its summary, and its hosts a page at a time (every lifecycle event, with status, duration and errors)', [
      'ferry deploy status d-123',
      'ferry deploy status d-123 --limit 1000 --after web-0420',
      'ferry deploy status d-123 --json | jq \'.hosts[] | select(.status == "Failed")\'',
    ])
      .option('--limit <n>', 'at most this many hosts, in the deployment\'s order (the overview counts them all)', '100')
      .option('--after <host-id>', 'the hosts after this one (the next page: the last line says which)'),
    async (s, [id], opts) => {
      const ref = requireText(id, 'ID');
      const hostLimit = parsePositiveInt(String(opts.limit), '--limit');
      const detail = await s.api().getDeployment({ id: ref, hostLimit, hostAfter: opts.after === undefined ? '' : String(opts.after) });
      if (s.out.json) return s.out.document(detail);
      s.out.lines(deploymentLines(detail, s.now, s.out.c, s.config.zone));
      if (detail.nextHostAfter) {
        s.out.line(`${detail.hosts.length} of ${detail.hostsTotal} hosts shown; next page: ferry deploy status ${ref} --after ${detail.nextHostAfter}${hostLimit === 100 ? '' : ` --limit ${hostLimit}`}`);
      }
    },
  );

  r.action(
    r
      .leaf(deploy, 'list', 'list deployments, newest first; with --host, the history of one host', [
        'ferry deploy list', 'ferry deploy list --app shop --group web --limit 5', 'ferry deploy list --host web-1   # what touched this host, and how it went there',
      ])
      .option('--app <app>', 'only this application\'s')
      .option('--group <group>', 'only this group\'s (with --app)')
      .option('--host <host>', 'only deployments that targeted this host (id, or hostname when unique), with its status and error there')
      .option('--limit <n>', 'at most this many', '20'),
    async (s, _args, opts) => {
      if (opts.group !== undefined && opts.app === undefined) throw new FerryError('INVALID_ARGUMENT', '--group: give --app too');
      const host = opts.host === undefined ? '' : requireText(String(opts.host), '--host');
      const res = await s.api().listDeployments({
        application: (opts.app as string | undefined) ?? '',
        group: (opts.group as string | undefined) ?? '',
        limit: parsePositiveInt(String(opts.limit), '--limit'),
        ...(host && { host }),
      });
      if (s.out.json) return s.out.document(res);
      if (res.deployments.length === 0) {
        return s.out.line(host ? `no deployment has targeted host ${host} yet` : 'no deployments yet: start one with ferry deploy create');
      }
      s.out.lines(host ? hostHistoryTable(res.deployments, res.hostResults, s.out.c, '', s.config.zone) : deploymentTable(res.deployments, s.now, s.out.c, s.config.zone));
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
      s.out.lines(deploymentLines(detail, s.now, s.out.c, s.config.zone));
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
        s.out.lines(deploymentLines(detail, s.now, s.out.c, s.config.zone));
      },
    );
  }

  registerAgainCommands(deploy, r);
  registerLogsCommand(deploy, r);
  registerPlanCommand(deploy, r);
  registerWaitCommand(deploy, r);
}

export { parseApproveAfter, parseAutoRollbackFlag } from '../deploy-options.js';
