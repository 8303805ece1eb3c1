import { randomInt } from 'node:crypto';
import { appendFileSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { FILE_EXISTS_BEHAVIORS, type FileExistsBehavior } from '../../common/appspec/types.js';
import { type BundleType, BUNDLE_TYPES, inferBundleType, unpackBundle } from '../../common/bundle/unpack.js';
import { AGENT_DEFAULTS, type AgentEnvironment, defaultRootDir } from '../config.js';
import { parseDuration, parsePositiveInt, parseSize, isSafeId } from '../../common/parse.js';
import { FerryError, describeError, isFerryError } from '../../common/errors.js';
import { type EventName, LIFECYCLE_EVENTS } from '../../common/lifecycle/events.js';
import { ChildProcessRunner } from '../lifecycle/process-runner.js';
import { recoverInterrupted } from '../lifecycle/recovery.js';
import { type BundleProvider, systemClock } from '../lifecycle/types.js';
import { NssUserDirectory } from '../lifecycle/users.js';
import { acquireHostLock } from '../../common/pid-lock.js';
import { layoutFor } from '../state/layout.js';
import { type Writer, liveRenderer, resultJson, verdictLines } from './render.js';

/** Exit codes of `ferry-agent local` (documented in the README). */
export const EXIT = { ok: 0, failed: 1, usage: 2, busy: 3 } as const;

export interface LocalRun {
  bundleLocation: string;
  bundleType: BundleType;
  rootDir: string;
  groupId: string;
  groupName: string;
  applicationName: string;
  events?: EventName[];
  fileExistsBehavior: FileExistsBehavior;
  appspecFileName?: string;
  ignoreApplicationStopFailures: boolean;
  json: boolean;
  wait: boolean;
  retention: number;
  maxBundleBytes: number;
  killGraceMs: number;
  outputGraceMs: number;
  outputsLeftOpen: 'warn' | 'fail';
  /** From `-c` (:log_dir:): the run's output is appended to ferry-agent-local.log there. */
  logDir?: string;
  /** Said once before the run (e.g. the config keys that were ignored). */
  notes: string[];
}

/** Where the run's output goes when `-c` names a :log_dir: (codedeploy-local writes codedeploy-local.log there). */
export const LOCAL_LOG_FILE = 'ferry-agent-local.log';

export function localCommand(): Command {
  return new Command('local')
    .description('run a whole deployment of a bundle on this machine (a drop-in for codedeploy-local)')
    .option('-l, --bundle-location <path>', 'bundle: a directory, or a .tar, .tgz/.tar.gz or .zip archive', '.')
    .addOption(new Option('-t, --type <type>', 'bundle type (inferred from the path when not given)').choices(BUNDLE_TYPES))
    .option('--root-dir <dir>', 'deployment root (default /opt/ferry-agent/deployment-root; ~/.ferry-agent/deployment-root when not root)')
    .option('-g, --deployment-group <id>', 'deployment group id (the directory under the root dir)', AGENT_DEFAULTS.groupId)
    .option('-d, --deployment-group-name <name>', 'DEPLOYMENT_GROUP_NAME for the hooks', AGENT_DEFAULTS.groupName)
    .option('-a, --application-name <name>', 'APPLICATION_NAME for the hooks (default: the bundle location)')
    .option('-e, --events <list>', `comma-separated events to run (DownloadBundle and Install always run): lifecycle events run in lifecycle order (${LIFECYCLE_EVENTS.join(',')}); any other name is a custom event of the appspec's hooks, run right after the event it follows in this list (after Install when it follows none)`)
    .option('-b, --file-exists-behavior <behavior>', `what to do with files this group did not install: ${FILE_EXISTS_BEHAVIORS.join(', ')}, in any case (the appspec key wins)`, 'DISALLOW')
    .option('-A, --appspec-filename <name>', 'appspec file name (default appspec.yml, then appspec.yaml)')
    .option('-c, --agent-configuration-file <file>', 'the AWS agent\'s codedeployagent.yml: its :root_dir:, :log_dir: and :max_revisions: apply, other keys are ignored (with a note); flags win')
    .option('--ignore-application-stop-failures', 'go on when the previous revision\'s ApplicationStop/BlockTraffic scripts fail', false)
    .option('--json', 'print one JSON document with the result on stdout (progress goes to stderr)', false)
    .option('--no-wait', 'fail at once (exit 3) when another deployment holds this host, instead of waiting')
    .option('--max-revisions <n>', `deployments kept on disk per group, the current one included (default ${AGENT_DEFAULTS.retention})`)
    .option('--max-bundle-size <size>', 'largest unpacked bundle accepted (e.g. 512M, 2G)', '2G')
    .option('--output-grace <duration>', 'how long a finished script\'s children may keep stdout/stderr open', '3s')
    .option('--kill-grace <duration>', 'after a timeout, how long between TERM and KILL of the script\'s process group', '10s')
    .option('--fail-on-outputs-left-open', 'fail the event (OutputsLeftOpen) instead of warning, as CodeDeploy does', false)
    .option('-v, --version', 'print the version and exit')
    .addHelpText('after', `
Exit codes: 0 deployment succeeded, 1 deployment failed, 2 bad usage, 3 host busy (--no-wait).

A drop-in for codedeploy-local: the same short flags (-l -t -b -g -d -a -e -c -A -v); -b takes any
case; -c reads the AWS agent's config file. Differences from the AWS agent: docs/appspec.md.

Examples:
  ferry-agent local --bundle-location ./my-app
  ferry-agent local -l build/app.tgz --deployment-group-name staging --json
  ferry-agent local -l app.zip --events ApplicationStop,ApplicationStart --file-exists-behavior OVERWRITE
  ferry-agent local -l ./my-app -b overwrite -c /etc/codedeploy-agent/conf/codedeployagent.yml
  ferry-agent local -l ./my-app --events ApplicationStart,CustomEvent`);
}

/** Validates flags into a LocalRun; throws INVALID_ARGUMENT (exit 2) naming the flag. */
export async function resolveLocalRun(opts: Record<string, unknown>, env: AgentEnvironment, cwd: string): Promise<LocalRun> {
  const bundleLocation = path.resolve(cwd, String(opts.bundleLocation));
  const st = await fs.stat(bundleLocation).catch(() => undefined);
  if (!st) throw new FerryError('INVALID_ARGUMENT', `--bundle-location: ${bundleLocation} does not exist`);
  const inferred = inferBundleType(bundleLocation, st.isDirectory());
  const bundleType = (opts.type as BundleType | undefined) ?? inferred;
  if (!bundleType) {
    throw new FerryError('INVALID_ARGUMENT', `--bundle-location: cannot tell the type of ${bundleLocation}; give --type tar|tgz|zip`);
  }
  if ((bundleType === 'directory') !== st.isDirectory()) {
    throw new FerryError('INVALID_ARGUMENT', `--type ${bundleType} does not match ${bundleLocation}, which is ${st.isDirectory() ? 'a directory' : 'a file'}`);
  }
  const groupId = String(opts.deploymentGroup);
  if (!isSafeId(groupId)) {
    throw new FerryError('INVALID_ARGUMENT', `--deployment-group: '${groupId}' must be letters, digits, '.', '_' or '-' (it names a directory)`);
  }
  let events: EventName[] | undefined;
  if (opts.events !== undefined) {
    const names = String(opts.events).split(',').map(s => s.trim()).filter(Boolean);
    if (names.length === 0) throw new FerryError('INVALID_ARGUMENT', `--events: no event given; lifecycle events: ${LIFECYCLE_EVENTS.join(', ')}, or custom events of the appspec`);
    const bad = names.filter(n => !/^[A-Za-z0-9_.-]+$/.test(n));
    if (bad.length > 0) {
      throw new FerryError('INVALID_ARGUMENT', `--events: ${bad.map(b => JSON.stringify(b)).join(', ')} is not an event name (letters, digits, '_', '-', '.')`);
    }
    events = names;
  }
  const behavior = String(opts.fileExistsBehavior).toUpperCase(); // codedeploy-local upper-cases it too
  const fileExistsBehavior = FILE_EXISTS_BEHAVIORS.find(b => b === behavior);
  if (!fileExistsBehavior) {
    throw new FerryError('INVALID_ARGUMENT', `--file-exists-behavior: '${String(opts.fileExistsBehavior)}' is not one of ${FILE_EXISTS_BEHAVIORS.join(', ')}`);
  }
  const aws = await readAgentConfiguration(opts.agentConfigurationFile, cwd);
  const rootDir = opts.rootDir ? String(opts.rootDir) : (aws.rootDir ?? defaultRootDir(env));
  const run: LocalRun = {
    bundleLocation,
    bundleType,
    rootDir: path.resolve(cwd, rootDir),
    groupId,
    groupName: String(opts.deploymentGroupName),
    applicationName: opts.applicationName ? String(opts.applicationName) : bundleLocation,
    fileExistsBehavior,
    ignoreApplicationStopFailures: Boolean(opts.ignoreApplicationStopFailures),
    json: Boolean(opts.json),
    wait: opts.wait !== false,
    retention: opts.maxRevisions !== undefined ? parsePositiveInt('--max-revisions', String(opts.maxRevisions)) : (aws.maxRevisions ?? AGENT_DEFAULTS.retention),
    maxBundleBytes: parseSize('--max-bundle-size', String(opts.maxBundleSize)),
    outputGraceMs: parseDuration('--output-grace', String(opts.outputGrace)),
    killGraceMs: parseDuration('--kill-grace', String(opts.killGrace)),
    outputsLeftOpen: opts.failOnOutputsLeftOpen ? 'fail' : 'warn',
    notes: aws.notes,
  };
  if (aws.logDir) run.logDir = path.resolve(cwd, aws.logDir);
  if (events) run.events = events;
  if (opts.appspecFilename) run.appspecFileName = String(opts.appspecFilename);
  return run;
}

/** `-c FILE`: the AWS agent's config; it must exist, as for codedeploy-local (deployer.rb `initialize`). */
async function readAgentConfiguration(file: unknown, cwd: string): Promise<{ rootDir?: string; logDir?: string; maxRevisions?: number; notes: string[] }> {
  if (file === undefined) return { notes: [] };
  const name = path.resolve(cwd, String(file));
  let text: string;
  try {
    text = await fs.readFile(name, 'utf8');
  } catch (err) {
    throw new FerryError('INVALID_ARGUMENT', `--agent-configuration-file: cannot read ${name}: ${describeError(err)}`);
  }
  // Loaded here (with yaml): `ferry-agent start` shares this module and never reads an AWS agent config.
  const { parseCodeDeployAgentConfig } = await import('./aws-config.js');
  const c = parseCodeDeployAgentConfig(text, name);
  if (c.problems.length > 0) throw new FerryError('INVALID_ARGUMENT', `--agent-configuration-file:\n  ${c.problems.join('\n  ')}`);
  const notes = c.ignored.length > 0
    ? [`note: ${name}: ${c.ignored.join(', ')} ignored (only :root_dir:, :log_dir: and :max_revisions: apply to a local run)`]
    : [];
  return {
    ...(c.rootDir !== undefined && { rootDir: c.rootDir }),
    ...(c.logDir !== undefined && { logDir: c.logDir }),
    ...(c.maxRevisions !== undefined && { maxRevisions: c.maxRevisions }),
    notes,
  };
}

/** CodeDeploy local's id shape: d- + 9 uppercase alphanumerics + -local. */
export function localDeploymentId(rand: (n: number) => number = randomInt): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let s = '';
  for (let i = 0; i < 9; i++) s += alphabet[rand(alphabet.length)];
  return `d-${s}-local`;
}

function localBundle(run: LocalRun): BundleProvider {
  return {
    describe: () => `${run.bundleType} bundle ${run.bundleLocation}`,
    unpackTo: async (destDir, appspecFileName) => {
      const r = await unpackBundle({
        source: run.bundleLocation, type: run.bundleType, destDir, maxBytes: run.maxBundleBytes,
        ...(appspecFileName && { appspecFileName }),
      });
      return r.strippedWrapper ? { strippedWrapper: r.strippedWrapper } : {};
    },
  };
}

export async function executeLocal(run: LocalRun, env: AgentEnvironment, w: Writer, color: boolean, signal?: AbortSignal): Promise<number> {
  const logFile = run.logDir ? path.join(run.logDir, LOCAL_LOG_FILE) : undefined;
  if (run.logDir) await fs.mkdir(run.logDir, { recursive: true, mode: 0o755 });
  const progress = (line: string) => {
    if (logFile) appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
    return run.json ? w.err(line + '\n') : w.out(line + '\n');
  };
  for (const note of run.notes) progress(note);
  const layout = layoutFor(run.rootDir);
  await fs.mkdir(layout.root, { recursive: true, mode: 0o755 });
  const deploymentId = localDeploymentId();
  let lock;
  try {
    lock = await acquireHostLock(layout.lockFile, {
      wait: run.wait, deploymentId, ...(signal && { signal }),
      onWait: h => progress(`waiting for the deployment running on this host (pid ${h?.pid ?? '?'}${h?.deploymentId ? `, ${h.deploymentId}` : ''}) to finish…`),
    });
  } catch (err) {
    if (isFerryError(err, 'LOCKED')) {
      w.err(`ferry-agent local: ${describeError(err)}\n`);
      return EXIT.busy;
    }
    throw err;
  }
  try {
    const interrupted = await recoverInterrupted(layout, systemClock.now());
    for (const i of interrupted) {
      progress(`! deployment ${i.marker.deploymentId} was interrupted during ${i.marker.event}: reported FailedAfterRestart`);
    }
    progress(`Deploying ${run.bundleType} bundle ${run.bundleLocation}`);
    progress(`  deployment ${deploymentId}, application ${run.applicationName}, group ${run.groupName} (${run.groupId}), root ${layout.root}`);
    const render = liveRenderer(progress, color);
    const { runHostDeployment } = await import('../lifecycle/executor.js');
    const result = await runHostDeployment(
      {
        deploymentId, applicationName: run.applicationName, groupName: run.groupName, groupId: run.groupId,
        bundle: localBundle(run), fileExistsBehavior: run.fileExistsBehavior,
        ignoreApplicationStopFailures: run.ignoreApplicationStopFailures,
        ...(run.events && { events: run.events }), ...(run.appspecFileName && { appspecFileName: run.appspecFileName }),
      },
      {
        layout, runner: new ChildProcessRunner(), users: new NssUserDirectory(), clock: systemClock,
        sink: { emit: render }, ...(signal && { signal }),
        options: {
          retention: run.retention, killGraceMs: run.killGraceMs, outputGraceMs: run.outputGraceMs,
          outputsLeftOpen: run.outputsLeftOpen, baseEnv: env.hookEnv, agentUid: env.uid,
          deploymentsLogRotateBytes: AGENT_DEFAULTS.deploymentsLogRotateBytes,
        },
      },
    );
    for (const line of verdictLines(result, color)) progress(line);
    if (run.json) {
      w.out(JSON.stringify(resultJson(result, {
        rootDir: layout.root, bundleLocation: run.bundleLocation, bundleType: run.bundleType,
        interrupted: interrupted.map(i => ({ deploymentId: i.marker.deploymentId, event: i.marker.event, errorCode: 'FailedAfterRestart' })),
      }), null, 2) + '\n');
    }
    return result.status === 'Succeeded' ? EXIT.ok : EXIT.failed;
  } finally {
    await lock.release();
  }
}
