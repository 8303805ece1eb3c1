import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import type { DeploymentDetail__Output } from '../../proto/gen/ferry/v1/DeploymentDetail.js';
import type { LogEntry__Output } from '../../proto/gen/ferry/v1/LogEntry.js';
import { requireText } from '../args.js';
import { hostName } from '../progress.js';
import { logLine } from '../render-deployment.js';
import { resumable } from '../resume.js';
import type { Runner } from '../session.js';

/** `--host` by id or hostname → the host id StreamLogs wants. */
export function resolveHost(detail: DeploymentDetail__Output, wanted: string): string {
  const h = detail.hosts.find(x => x.hostId === wanted) ?? detail.hosts.find(x => x.hostname === wanted);
  if (h) return h.hostId;
  const known = detail.hosts.map(hostName).join(', ') || 'none yet';
  throw new FerryError('NOT_FOUND', `--host: '${wanted}' is not a host of deployment ${detail.deployment?.id ?? ''} (its hosts: ${known})`);
}

export function registerLogsCommand(deploy: Command, r: Runner): void {
  r.action(
    r
      .leaf(deploy, 'logs <id>', 'print the hook output of a deployment: host, event, [stream] line', [
        'ferry deploy logs d-123',
        'ferry deploy logs d-123 --host web-2 --follow',
        'ferry deploy logs d-123 --json | jq -r \'.entries[] | select(.stream == "stderr") | .line\'',
      ])
      .option('--host <host>', 'only this host (id or hostname)')
      .option('--follow', 'keep printing new lines until the deployment ends; resumes after the last line when the coordinator restarts'),
    async (s, [idArg], opts) => {
      const id = requireText(idArg, 'ID');
      const api = s.api();
      const detail = await api.getDeployment({ id });
      const names = new Map(detail.hosts.map(h => [h.hostId, hostName(h)]));
      const hostId = opts.host === undefined ? '' : resolveHost(detail, String(opts.host));
      const width = Math.max(4, ...[...names.values()].map(n => n.length));
      const entries: LogEntry__Output[] = [];
      let count = 0;
      const follow = opts.follow === true;
      const stream = follow
        ? resumable<LogEntry__Output>(s, { what: `the hook output of ${id}`, after: 0, endIsBreak: false, seqOf: e => Number(e.seq), open: after => api.streamLogs({ deploymentId: id, hostId, follow, afterSeq: after }) })
        : api.streamLogs({ deploymentId: id, hostId, follow });
      for await (const e of stream) {
        count++;
        if (s.out.json) entries.push(e);
        else s.out.line(logLine(e, names.get(e.hostId) ?? e.hostId, width, s.out.c));
      }
      if (s.out.json) return s.out.document({ deploymentId: id, entries });
      if (count === 0) s.out.note(`(no hook output recorded for deployment ${id}${hostId ? ` on ${names.get(hostId)}` : ''} yet)`);
    },
  );
}
