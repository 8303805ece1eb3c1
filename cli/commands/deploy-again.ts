import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import type { DeploymentDetail__Output } from '../../proto/gen/ferry/v1/DeploymentDetail.js';
import { requireText } from '../args.js';
import { FOLLOW_ROLLBACK_HELP, WAIT_HELP, waitOptions } from '../deploy-options.js';
import { requester } from '../deploy-request.js';
import { followDeployment } from '../follow.js';
import { shortDigest } from '../format.js';
import type { Runner, Session } from '../session.js';

/**
 * The commands that start a new deployment from an earlier one — `rollback` (the revision before
 * it, to the hosts it touched), `redeploy` (the same, to the whole group), `retry` (the same, to the
 * hosts that did not succeed) — each with `--wait`/`--timeout` as `deploy create`.
 */
export function registerAgainCommands(deploy: Command, r: Runner): void {
  const verbs = [
    {
      verb: 'rollback',
      help: 'roll an ended deployment back: a new deployment of the revision before it, to the hosts it touched',
      examples: ['ferry deploy rollback d-123', 'ferry deploy rollback d-123 --wait --timeout 15m', 'ferry deploy rollback d-123 --json | jq -r .deployment.id'],
      call: (s: Session, id: string) => s.api().rollbackDeployment({ id }),
      summary: (d: DeploymentDetail__Output) =>
        `rollback ${d.deployment!.id} of ${d.deployment!.rollbackOf}: revision ${shortDigest(d.deployment!.revision)} to ${d.hosts.length || 'the'} host(s) it touched (${d.deployment!.status})`,
    },
    {
      verb: 'redeploy',
      help: 'deploy the same revision with the same config and options again, to the whole group',
      examples: ['ferry deploy redeploy d-123', 'ferry deploy redeploy d-123 --wait --json > result.json'],
      call: (s: Session, id: string) => s.api().redeployDeployment({ id }),
      summary: (d: DeploymentDetail__Output) =>
        `redeploy ${d.deployment!.id}: revision ${shortDigest(d.deployment!.revision)} to ${d.deployment!.application}/${d.deployment!.groupName} (${d.deployment!.status})`,
    },
    {
      verb: 'retry',
      help: 'deploy the same revision, config and options again, only to the hosts of an ended deployment that did not succeed (failed, skipped or offline, lost, never started)',
      examples: ['ferry deploy retry d-123', 'ferry deploy retry d-123 --wait --timeout 30m', 'ferry deploy retry d-123 --wait --json | jq .outcome'],
      call: (s: Session, id: string) => s.api().retryDeployment({ id, requestedBy: requester() }),
      summary: (d: DeploymentDetail__Output) =>
        `retry ${d.deployment!.id}: revision ${shortDigest(d.deployment!.revision)} to ${d.deployment!.application}/${d.deployment!.groupName}, ${d.deployment!.description} (${d.deployment!.status})`,
    },
  ] as const;
  for (const v of verbs) {
    r.action(
      r.leaf(deploy, `${v.verb} <id>`, v.help, v.examples)
        .option('--wait', WAIT_HELP)
        .option('--timeout <duration>', 'with --wait: give up after this long (e.g. 90s, 30m, 1h); exit 5, the deployment goes on')
        .option('--follow-rollback', FOLLOW_ROLLBACK_HELP),
      async (s, [id], opts) => {
        const { wait, timeoutMs, followRollback } = waitOptions(opts);
        const detail = await v.call(s, requireText(id, 'ID'));
        const d = detail.deployment;
        if (!d) throw new FerryError('INTERNAL', `the coordinator created the ${v.verb} deployment but did not return it`);
        if (!wait) {
          if (s.out.json) return s.out.document(detail);
          s.out.line(d.id);
          s.out.line(v.summary(detail));
          return s.out.line(`follow it: ferry deploy wait ${d.id}   (or ferry deploy status ${d.id})`);
        }
        s.out.line(d.id);
        s.out.line(v.summary(detail));
        return followDeployment(s, d.id, { ...(timeoutMs !== undefined && { timeoutMs }), ...(followRollback && { followRollback }) });
      },
    );
  }
}
