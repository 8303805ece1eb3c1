import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import { requireText } from '../args.js';
import { COLORS } from '../output.js';
import { planLines } from '../render-plan.js';
import type { Runner } from '../session.js';
import { conflicting, deploymentRequest } from '../deploy-request.js';

export function registerPlanCommand(deploy: Command, r: Runner): void {
  r.action(
    r
      .leaf(deploy, 'plan', 'preview a deployment without touching any host: hosts and waves, hooks and the revision each runs from, file changes per host', [
        'ferry deploy plan --app shop --group web --revision latest',
        'ferry deploy plan --app shop --group web --revision 3f2a9c1e --config OneAtATime --json',
        'ferry deploy plan --show p-7KQ2M9X1A',
        'ferry deploy create --from-plan p-7KQ2M9X1A --wait   # execute it; refused if the group or its hosts changed',
      ])
      .option('--app <app>', 'the application')
      .option('--group <group>', 'the deployment group')
      .option('--revision <digest|prefix|latest>', 'the revision to deploy')
      .option('--config <config>', 'a deployment config for this deployment only (the group\'s when not given)')
      .option('--description <text>', 'a note stored with the deployment')
      .option('--file-exists-behavior <behavior>', 'files the group did not install: DISALLOW (default), OVERWRITE or RETAIN')
      .option('--ignore-application-stop-failures', 'go on when the installed revision\'s ApplicationStop scripts fail')
      .option('--auto-rollback <events>', 'this deployment only: failure,alarm,stop or none')
      .option('--approve-after <n|first-zone>', 'pause for approval once N hosts succeeded (or after the first zone)')
      .option('--min-healthy-time <duration>', 'bake time per host')
      .option('--ignore-alarms', 'the group\'s health alarms do not stop this deployment')
      .option('--ignore-window', 'emergencies: plan it to start now even outside the group\'s deployment windows')
      .option('--require-all-hosts', 'plan it to fail (HOSTS_OFFLINE) when a target\'s agent is offline at its turn, instead of skipping it')
      .option('--show <id>', 'print a plan made before (all other flags must be absent)'),
    async (s, _args, opts) => {
      let plan;
      if (opts.show !== undefined) {
        const bad = conflicting(opts);
        if (bad.length > 0) throw new FerryError('INVALID_ARGUMENT', `--show: prints a stored plan; drop ${bad.join(', ')}`);
        plan = await s.api().getDeploymentPlan(requireText(opts.show as string, '--show'));
      } else {
        plan = await s.api().planDeployment({ deployment: deploymentRequest(opts, 'or print a stored plan: --show ID') });
      }
      if (s.out.json) return s.out.document(plan);
      s.out.lines(planLines(plan, s.out.c, undefined, s.config.zone));
      s.out.line('');
      if (plan.usedBy) {
        s.out.line(`plan ${plan.id} was executed by deployment ${plan.usedBy}: ferry deploy status ${plan.usedBy}`);
      } else {
        s.out.line(s.out.c(COLORS.bold, `plan ${plan.id}`) + ` — execute exactly this: ferry deploy create --from-plan ${plan.id} --wait`);
      }
    },
  );
}
