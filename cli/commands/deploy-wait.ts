import type { Command } from 'commander';
import { parseDuration, requireText } from '../args.js';
import { followDeployment } from '../follow.js';
import type { Runner } from '../session.js';

/** `ferry deploy wait ID`: `--wait` for a deployment started earlier (a pipeline's later step). */
export function registerWaitCommand(deploy: Command, r: Runner): void {
  r.action(
    r
      .leaf(deploy, 'wait <id>', 'follow a deployment until it ends (or reaches its approval gate) and exit with its outcome, as deploy create --wait', [
        'ferry deploy wait d-123 --timeout 30m',
        'ferry deploy wait d-123 --until-approval --timeout 1h   # exit 0 once it waits for ferry deploy approve',
        'ferry deploy wait d-123 --json > result.json            # exitCode and outcome in the document',
        'ferry deploy wait d-123 --follow-rollback               # a rolled-back deployment: wait for the rollback too',
      ])
      .option('--until-approval', 'also end, with exit 0 and outcome awaiting-approval, once the deployment waits at its --approve-after gate')
      .option('--timeout <duration>', 'give up after this long (e.g. 90s, 30m, 1h); exit 5, the deployment goes on')
      .option('--follow-rollback', 'when the deployment is rolled back, follow the rollback to its end too; exit 4 once it succeeded, 1 if it failed as well'),
    async (s, [id], opts) => {
      return followDeployment(s, requireText(id, 'ID'), {
        ...(opts.timeout !== undefined && { timeoutMs: parseDuration(String(opts.timeout), '--timeout') }),
        untilApproval: opts.untilApproval === true,
        followRollback: opts.followRollback === true,
      });
    },
  );
}
