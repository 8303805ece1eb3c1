/** ControlService's clean-up RPCs (services/cleanup.ts): thin adapters. */
import type { Context } from '../context.js';
import type { ControlServiceHandlers } from '../../proto/gen/ferry/v1/ControlService.js';
import { deleteApplication, deleteGroup, deleteRevisions, removeHost } from '../services/cleanup.js';
import { revisionToProto } from './convert.js';
import { unaryAs } from './errors.js';

export function cleanupHandlers(ctx: Context): Pick<ControlServiceHandlers, 'DeleteApplication' | 'DeleteDeploymentGroup' | 'RemoveHost' | 'DeleteRevisions'> {
  return {
    DeleteApplication: unaryAs((req, caller) => deleteApplication(ctx, req.name, caller.id)),
    DeleteDeploymentGroup: unaryAs(async (req, caller) => await deleteGroup(ctx, req.application, req.name, caller.id)),
    RemoveHost: unaryAs(async (req, caller) => await removeHost(ctx, req.id, caller.id)),
    DeleteRevisions: unaryAs(async (req, caller) => {
      const r = await deleteRevisions(ctx, {
        application: req.application, revisions: req.revisions, ...(req.hasKeep && { keep: req.keep }), dryRun: req.dryRun, by: caller.id,
      });
      return {
        deleted: r.deleted.map(revisionToProto), dryRun: req.dryRun,
        kept: r.kept.map(k => ({ revision: revisionToProto(k.revision), reasons: k.reasons })),
      };
    }),
  };
}
