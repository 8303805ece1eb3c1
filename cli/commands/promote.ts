import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import type { PromoteDeploymentRequest } from '../../proto/gen/ferry/v1/PromoteDeploymentRequest.js';
import { requireText } from '../args.js';
import { deploymentOptions, waitOptions, withDeploymentOptions } from '../deploy-options.js';
import { followDeployment } from '../follow.js';
import { shortDigest } from '../format.js';
import type { Runner } from '../session.js';

/** Flags → PromoteDeploymentRequest and the wait timeout; every flag checked before any call. */
export function promoteRequest(opts: Record<string, unknown>): { request: PromoteDeploymentRequest; wait: boolean; timeoutMs?: number } {
  const request: PromoteDeploymentRequest = {
    application: requireText(opts.app as string, '--app'),
    fromGroup: requireText(opts.from as string, '--from'),
    toGroup: requireText(opts.to as string, '--to'),
    ...deploymentOptions(opts),
  };
  if (request.fromGroup === request.toGroup) {
    throw new FerryError('INVALID_ARGUMENT', `--to: '${request.toGroup}' is also --from; promote from one group to another (e.g. --from staging --to prod)`);
  }
  return { request, ...waitOptions(opts) };
}

export function registerPromoteCommand(program: Command, r: Runner): void {
  r.action(
    withDeploymentOptions(r
      .leaf(program, 'promote', 'deploy to one group the revision whose last deployment succeeded on another (test → approve → production)', [
        'ferry promote --app shop --from staging --to prod',
        'ferry promote --app shop --from staging --to prod --approve-after 1 --wait --timeout 30m',
        'ferry promote --app shop --from staging --to prod --wait --json > result.json   # CI: exit code says how it ended',
      ])
      .requiredOption('--app <app>', 'the application')
      .requiredOption('--from <group>', 'the group whose last successful deployment gives the revision (e.g. staging)')
      .requiredOption('--to <group>', 'the group to deploy it to (e.g. prod)')),
    async (s, _args, opts) => {
      const { request, wait, timeoutMs } = promoteRequest(opts);
      const res = await s.api().promoteDeployment(request);
      const d = res.detail?.deployment;
      const source = res.source;
      if (!d || !source) throw new FerryError('INTERNAL', 'the coordinator promoted but did not return the deployment and its source');
      const promotedFrom = { id: source.id, groupName: source.groupName, revision: source.revision, completedAt: source.completedAt };
      if (!wait) {
        if (s.out.json) return s.out.document(res);
        s.out.line(d.id);
        s.out.line(`promoted revision ${shortDigest(d.revision)} from ${source.groupName} (deployment ${source.id}) to ${d.application}/${d.groupName}: deployment ${d.id} (${d.status})`);
        s.out.line(`follow it: ferry deploy status ${d.id}   hook output: ferry deploy logs ${d.id} --follow`);
        return;
      }
      s.out.line(d.id);
      s.out.note(`promoting revision ${shortDigest(d.revision)} from ${source.groupName} (deployment ${source.id}) to ${d.groupName}`);
      return followDeployment(s, d.id, { ...(timeoutMs !== undefined && { timeoutMs }), extra: { promotedFrom } });
    },
  );
}
