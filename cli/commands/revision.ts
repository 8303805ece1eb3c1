import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { FerryError } from '../../common/errors.js';
import type { UploadRevisionResponse__Output } from '../../proto/gen/ferry/v1/UploadRevisionResponse.js';
import { parsePositiveInt, parseRevisionRef, requireText } from '../args.js';
import { FERRYIGNORE, type PreparedBundle, fileChunks, prepareArchive, prepareDirectory, prepareGit } from '../bundle.js';
import { CLI_DEFAULTS } from '../config.js';
import { NONE, formatBytes, formatTime, orNone, shortDigest, table } from '../format.js';
import type { Runner, Session } from '../session.js';

interface PushOptions {
  app?: string;
  dryRun?: boolean;
  description?: string;
  git?: string;
  commit?: string;
}

/** Which source a push reads, checked before anything is packed. */
async function prepare(s: Session, pathArg: string | undefined, opts: PushOptions): Promise<PreparedBundle> {
  if (opts.git !== undefined) {
    if (pathArg !== undefined) throw new FerryError('INVALID_ARGUMENT', `PATH: give either PATH or --git REPO_DIR, not both`);
    return prepareGit(path.resolve(s.deps.cwd, opts.git), opts.commit ?? 'HEAD');
  }
  if (opts.commit !== undefined) throw new FerryError('INVALID_ARGUMENT', '--commit: only with --git REPO_DIR');
  if (pathArg === undefined) throw new FerryError('INVALID_ARGUMENT', 'PATH: give a directory or an archive to push (or --git REPO_DIR --commit REV)');
  const location = path.resolve(s.deps.cwd, pathArg);
  const st = await fs.stat(location).catch(() => undefined);
  if (!st) throw new FerryError('INVALID_ARGUMENT', `PATH: ${location} does not exist`);
  return st.isDirectory() ? prepareDirectory(location) : prepareArchive(location);
}

export function pushLines(res: UploadRevisionResponse__Output, bundle: Pick<PreparedBundle, 'bundleType' | 'size' | 'commit'>): string[] {
  const r = res.revision;
  const digest = r?.digest ?? NONE;
  return [
    digest,
    `${res.created ? 'stored' : 'already stored'}: ${r?.application ?? ''} ${bundle.bundleType} ${formatBytes(bundle.size)}` +
      (bundle.commit ? ` from commit ${bundle.commit.slice(0, 12)}` : ''),
    `deploy it: ferry deploy create --app ${r?.application ?? 'APP'} --group GROUP --revision ${shortDigest(digest)}`,
  ];
}

/** `revision push --dry-run`: what was packed (for a directory: each entry, and what was left out). */
function dryRun(s: Session, bundle: PreparedBundle): void {
  const { entries = [], ignored = [] } = bundle.packed ?? {};
  if (s.out.json) {
    s.out.document({
      dryRun: true, bundleType: bundle.bundleType, size: bundle.size, digest: bundle.digest, commit: bundle.commit ?? '',
      ...(bundle.packed && { entries, ignored }),
    });
    return;
  }
  s.out.line(`dry run: nothing sent. ${bundle.bundleType} ${formatBytes(bundle.size)}, sha256 ${bundle.digest}${bundle.commit ? `, commit ${bundle.commit.slice(0, 12)}` : ''}`);
  if (!bundle.packed) return;
  s.out.line(`packed (${entries.length}):`);
  s.out.lines(entries.map(e => `  ${e}`));
  s.out.line(`left out (${ignored.length}; .git and ${FERRYIGNORE}, plus the patterns in ${FERRYIGNORE}):`);
  s.out.lines(ignored.length === 0 ? ['  nothing'] : ignored.map(e => `  ${e}`));
}

export function registerRevisionCommands(program: Command, r: Runner): void {
  const revision = program
    .command('revision')
    .description('revisions: bundles with an appspec.yml, stored by the coordinator under their SHA-256')
    .addHelpText('after', '\nExamples:\n  ferry revision push ./my-app --app shop\n  ferry revision list --app shop');

  r.action(
    r
      .leaf(revision, 'push [path]', 'upload a revision: a directory (packed as tgz), a .tar/.tgz/.tar.gz/.zip, or a git commit', [
        'ferry revision push ./my-app --app shop --description "v1.4.2"',
        'ferry revision push build/my-app.tgz --app shop',
        'ferry revision push --git . --commit v1.4.2 --app shop',
        'digest=$(ferry revision push ./my-app --app shop --json | jq -r .revision.digest)',
        'ferry revision push ./my-app --dry-run   # what would be packed (.git and .ferryignore\'s patterns left out); nothing is sent',
      ])
      .option('--app <app>', 'the application (required, unless --dry-run)')
      .option('--dry-run', 'pack, then list what was packed and left out, with size and digest; send nothing')
      .option('--description <text>', 'a note stored with the revision')
      .option('--git <repo-dir>', 'push a commit of this git repository (git archive) instead of PATH')
      .option('--commit <rev>', 'with --git: the commit, branch or tag (HEAD when not given)'),
    async (s, [pathArg], raw) => {
      const opts = raw as unknown as PushOptions;
      if (!opts.dryRun && opts.app === undefined) throw new FerryError('INVALID_ARGUMENT', "--app: required (the application the revision belongs to)");
      const application = opts.app === undefined ? '' : requireText(opts.app, '--app');
      const bundle = await prepare(s, pathArg, opts);
      try {
        if (opts.dryRun) return dryRun(s, bundle);
        const res = await s.api().uploadRevision(
          {
            application,
            bundleType: bundle.bundleType,
            description: opts.description ?? '',
            commit: bundle.commit ?? '',
            expectedDigest: bundle.digest,
          },
          fileChunks(bundle.file, CLI_DEFAULTS.chunkBytes),
        );
        if (s.out.json) return s.out.document(res);
        s.out.lines(pushLines(res, bundle));
      } finally {
        await bundle.cleanup();
      }
    },
  );

  r.action(
    r
      .leaf(revision, 'list', 'list an application\'s revisions, newest first', ['ferry revision list --app shop'])
      .requiredOption('--app <app>', 'the application'),
    async (s, _args, opts) => {
      const res = await s.api().listRevisions({ application: requireText(opts.app as string, '--app') });
      if (s.out.json) return s.out.document(res);
      if (res.revisions.length === 0) return s.out.line(`no revisions in ${opts.app as string}: push one with ferry revision push DIR --app ${opts.app as string}`);
      const rows = res.revisions.map(v => [
        shortDigest(v.digest), v.bundleType, formatBytes(v.size), v.commit ? v.commit.slice(0, 12) : NONE, orNone(v.description), formatTime(v.createdAt, s.config.zone),
        ...(res.revisions.some(x => x.heldBy.length > 0) ? [v.heldBy.join('; ') || NONE] : []),
      ]);
      const held = res.revisions.some(x => x.heldBy.length > 0) ? ['KEPT FOR'] : [];
      s.out.lines(table(['DIGEST', 'TYPE', 'SIZE', 'COMMIT', 'DESCRIPTION', 'CREATED', ...held], rows));
    },
  );

  r.action(
    r
      .leaf(revision, 'delete [digests...]', 'delete revisions: the ones named, or with --keep N all but the newest N; never one a group targets (its last successful deployment\'s), an active deployment runs or a schedule names', [
        'ferry revision delete 3f2a9c01 --app shop',
        'ferry revision delete --app shop --keep 10 --dry-run   # what retention would delete',
        'ferry revision delete --app shop --keep 10 --json',
      ])
      .requiredOption('--app <app>', 'the application')
      .option('--keep <n>', 'keep the newest N revisions (and every one still needed); delete the rest')
      .option('--dry-run', 'say what would be deleted; delete nothing'),
    async (s, [digests], opts) => {
      const refs = ((digests ?? []) as unknown as string[]).map(d => parseRevisionRef(d, 'DIGEST'));
      if (refs.includes('latest')) throw new FerryError('INVALID_ARGUMENT', 'DIGEST: give digests (or prefixes), not latest');
      const keep = opts.keep === undefined ? undefined : parsePositiveInt(String(opts.keep), '--keep');
      if (keep !== undefined && refs.length > 0) throw new FerryError('INVALID_ARGUMENT', '--keep: not with DIGEST arguments (give one or the other)');
      if (keep === undefined && refs.length === 0) throw new FerryError('INVALID_ARGUMENT', 'DIGEST: give the revisions to delete, or --keep N');
      const application = requireText(opts.app as string, '--app');
      const dryRun = opts.dryRun === true;
      const res = await s.api().deleteRevisions({ application, revisions: refs, keep: keep ?? 0, hasKeep: keep !== undefined, dryRun });
      if (s.out.json) return s.out.document(res);
      const verb = dryRun ? 'would delete' : 'deleted';
      s.out.line(`${verb} ${res.deleted.length} revision(s) of ${application}${res.deleted.length > 0 ? ':' : ''}`);
      for (const v of res.deleted) s.out.line(`  ${shortDigest(v.digest)}  ${formatBytes(v.size)}  ${formatTime(v.createdAt, s.config.zone)}  ${orNone(v.description)}`);
      for (const k of res.kept) s.out.line(`kept ${shortDigest(k.revision!.digest)} (older than the newest ${keep}): ${k.reasons.join('; ')}`);
    },
  );
}
