import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadAppSpec } from '../../common/appspec/parse.js';
import { type AppSpec, formatProblem } from '../../common/appspec/types.js';
import { describeError, isDiskFull, isFerryError } from '../../common/errors.js';
import { install } from '../install/installer.js';
import { readPointer, writeFileAtomic } from '../state/files.js';
import type { Layout } from '../state/layout.js';
import { clearMarker, writeMarker } from '../state/markers.js';
import { pruneDeployments } from '../state/retention.js';
import {
  type EventName, LIFECYCLE_EVENTS, MANDATORY_EVENTS, PHASE_SOURCE, type ScriptSource, isLifecycleEvent, likelyEvent, orderEvents,
} from '../../common/lifecycle/events.js';
import { type HookRunDeps, runEventScripts } from './hooks.js';
import type { ProcessRunner } from './process-runner.js';
import { openScriptLogs } from './script-log.js';
import { RevisionAccess } from './revision-access.js';
import type { Clock, EventResult, EventSink, HostDeploymentResult, HostDeploymentSpec } from './types.js';
import type { UserDirectory } from './users.js';

export interface ExecutorOptions {
  /** Deployments kept per group on disk, the current one included. */
  retention: number;
  killGraceMs: number;
  outputGraceMs: number;
  outputsLeftOpen: 'warn' | 'fail';
  /** The environment hook scripts inherit (credentials already removed). */
  baseEnv: Readonly<Record<string, string>>;
  /** The agent's uid: runas needs root. */
  agentUid: number;
  deploymentsLogRotateBytes: number;
}

export interface ExecutorDeps {
  layout: Layout;
  runner: ProcessRunner;
  users: UserDirectory;
  sink: EventSink;
  clock: Clock;
  options: ExecutorOptions;
  /** Aborting cancels the running script (its process group is killed) and skips the rest. */
  signal?: AbortSignal;
}

type Outcome = Omit<EventResult, 'event' | 'status' | 'startedAt' | 'endedAt' | 'durationMs'> & { failed: boolean; skipped?: boolean };

const iso = (ms: number) => new Date(ms).toISOString();

/** Custom events run the current revision's scripts (hook_executor.rb maps only lifecycle events to older revisions). */
const sourceOf = (event: EventName): ScriptSource => (isLifecycleEvent(event) ? PHASE_SOURCE[event] : 'current');

/** Lifecycle events that come before DownloadBundle in CodeDeploy's order (Ferry runs DownloadBundle first). */
const BEFORE_DOWNLOAD: readonly EventName[] = LIFECYCLE_EVENTS.slice(0, LIFECYCLE_EVENTS.indexOf('DownloadBundle'));

/** Problems with the custom events of a run: requested ones the appspec lacks; unrequested ones it has (warnings). */
export function customEventCheck(requested: readonly EventName[], spec: AppSpec): { problems: string[]; warnings: string[] } {
  const hooks = spec.customHooks ?? {};
  const hint = (name: string) => {
    const likely = likelyEvent(name);
    return likely ? ` (did you mean ${likely}?)` : '';
  };
  const problems = requested
    .filter(e => !isLifecycleEvent(e) && !(e in hooks))
    .map(e => `the requested event ${e} is not a lifecycle event, and ${spec.fileName} has no hooks for it${hint(e)}: ` +
      'a custom event needs its scripts under hooks:');
  const warnings = Object.keys(hooks)
    .filter(e => !requested.includes(e))
    .map(e => `${spec.fileName}: hooks.${e}: '${e}' is not a lifecycle event${hint(e)}; its scripts run only as a custom event ` +
      'named in ferry-agent local --events (codedeploy-local fails a deployment whose appspec has hooks for events it does not run)');
  return { problems, warnings };
}

/**
 * Runs one host deployment: fetch and validate the revision, then the lifecycle events in
 * CodeDeploy's order. The caller holds the host lock. Never throws for deployment failures:
 * they are in the result.
 */
export async function runHostDeployment(spec: HostDeploymentSpec, deps: ExecutorDeps): Promise<HostDeploymentResult> {
  const { layout, clock, sink, options } = deps;
  const g = spec.groupId;
  const d = spec.deploymentId;
  const deploymentDir = layout.deploymentDir(g, d);
  const archiveDir = layout.archiveDir(g, d);
  const startedAt = clock.now();
  await RevisionAccess.create(deploymentDir);
  const logs = await openScriptLogs({
    scriptsLog: layout.scriptsLog(g, d),
    deploymentsLog: layout.deploymentsLog,
    deploymentId: d,
    now: () => clock.now(),
    rotateBytes: options.deploymentsLogRotateBytes,
    keepRotated: 8,
  });
  const warnings: string[] = [];
  const warn = (message: string, event?: EventName) => {
    warnings.push(message);
    sink.emit({ type: 'warning', message, at: clock.now(), ...(event && { event }) });
  };
  const wanted = new Set<EventName>([...(spec.events ?? LIFECYCLE_EVENTS), ...MANDATORY_EVENTS]);
  const order = orderEvents(spec.events);
  const results = new Map<EventName, EventResult>();
  let failure: HostDeploymentResult['error'];

  const skippedBecause = (event: EventName): string => {
    if (!failure) return 'because the deployment was stopped';
    if (failure.event === 'DownloadBundle' && BEFORE_DOWNLOAD.includes(event)) {
      return 'not run: the new revision failed DownloadBundle, which Ferry runs first, so the application was left running';
    }
    return `because ${failure.event} failed`;
  };
  const runEvent = async (event: EventName, body: () => Promise<Outcome>) => {
    const at = clock.now();
    if (failure || deps.signal?.aborted) return skip(event, skippedBecause(event));
    if (!wanted.has(event)) return skip(event, 'not in the requested events');
    await writeMarker(layout, {
      deploymentId: d, groupId: g, groupName: spec.groupName, applicationName: spec.applicationName,
      event, pid: process.pid, eventStartedAt: iso(at), finished: [...results.values()], events: order,
    });
    sink.emit({ type: 'event-start', event, at, revision: sourceOf(event) });
    void logs.event(event);
    let out: Outcome;
    try {
      out = await body();
    } catch (err) {
      out = { failed: true, errorCode: 'UnknownError', message: describeError(err) };
    }
    const end = clock.now();
    const { failed, skipped, ...rest } = out;
    const result: EventResult = {
      event, ...rest,
      status: skipped ? 'Skipped' : failed ? 'Failed' : 'Succeeded',
      startedAt: iso(at), endedAt: iso(end), durationMs: end - at,
    };
    if (failed && !result.ignored) {
      failure = { event, code: result.errorCode ?? 'UnknownError', message: result.message ?? `${event} failed` };
    }
    if (failed) void logs.note(`${event} failed: ${result.message ?? ''}`);
    sink.emit({ type: 'event-end', event, at: end, result });
    record(event, result);
  };
  const record = (event: EventName, r: EventResult) => void results.set(event, r);
  const skip = (event: EventName, message: string) => {
    const result: EventResult = { event, status: 'Skipped', message };
    sink.emit({ type: 'event-end', event, at: clock.now(), result });
    record(event, result);
  };

  const previousPointer = await readPointer(layout.lastSuccessfulInstall(g));
  const previousDir = previousPointer && path.resolve(previousPointer) !== deploymentDir ? previousPointer : undefined;
  let current: AppSpec | undefined;
  let previous: { spec?: AppSpec; problem?: string } | undefined;

  const hookDeps: HookRunDeps = {
    runner: deps.runner, users: deps.users, sink, clock, logs, baseEnv: options.baseEnv,
    killGraceMs: options.killGraceMs, outputGraceMs: options.outputGraceMs,
    outputsLeftOpen: options.outputsLeftOpen, warn, agentUid: options.agentUid, access: new RevisionAccess(),
    ...(deps.signal && { signal: deps.signal }),
  };
  const context = { deploymentId: d, applicationName: spec.applicationName, groupName: spec.groupName, groupId: g };

  const downloadBundle = async (): Promise<Outcome> => {
    const pruned = await pruneDeployments(layout.groupDir(g), options.retention, [deploymentDir, ...(previousDir ? [previousDir] : [])]);
    if (pruned.length > 0) void logs.note(`retention: removed ${pruned.length} old deployment(s)`);
    await fs.rm(archiveDir, { recursive: true, force: true });
    try {
      const unpacked = await spec.bundle.unpackTo(archiveDir, spec.appspecFileName);
      if (unpacked.strippedWrapper) void logs.note(`using top-level directory ${unpacked.strippedWrapper}/ as the revision root`);
    } catch (err) {
      const rejected = isFerryError(err, 'BUNDLE_REJECTED') || isFerryError(err, 'CHECKSUM_MISMATCH') || isFerryError(err, 'INVALID_ARGUMENT');
      // A full disk says so (the message names the path): the operator frees space, not the bundle.
      return { failed: true, errorCode: rejected ? 'BundleRejected' : isDiskFull(err) ? 'DISK_FULL' : 'UnknownError',
        message: `${spec.bundle.describe()}: ${describeError(err)}` };
    }
    await writeFileAtomic(layout.mostRecentInstall(g), deploymentDir + '\n');
    const loaded = await loadAppSpec(archiveDir, spec.appspecFileName);
    if (loaded.missing) {
      // Name the bundle the user gave, not the agent's unpacked copy.
      return { failed: true, errorCode: 'AppSpecInvalid',
        message: `no appspec file in ${spec.bundle.describe()}: looked for ${loaded.missing.join(', ')} at its root ` +
          '(or inside its single top-level directory)' };
    }
    const name = loaded.path ? path.basename(loaded.path) : (spec.appspecFileName ?? 'appspec.yml');
    for (const w of loaded.warnings) warn(formatProblem(name, w), 'DownloadBundle');
    if (!loaded.spec) {
      return { failed: true, errorCode: 'AppSpecInvalid',
        message: `invalid ${name}:\n` + loaded.problems.map(p => '  ' + formatProblem(name, p)).join('\n') };
    }
    const custom = customEventCheck(spec.events ?? [], loaded.spec);
    for (const w of custom.warnings) warn(w, 'DownloadBundle');
    if (custom.problems.length > 0) {
      return { failed: true, errorCode: 'AppSpecInvalid', message: custom.problems.join('\n') };
    }
    current = loaded.spec;
    return { failed: false };
  };

  const previousSpec = async () => {
    if (!previous) {
      const dir = path.join(previousDir!, 'deployment-archive');
      const loaded = await loadAppSpec(dir).catch(err => ({ spec: undefined, problems: [{ path: '', message: describeError(err) }], warnings: [] }));
      previous = loaded.spec
        ? { spec: loaded.spec }
        : { problem: `the previous revision of this group (${dir}) is missing or its appspec is invalid: ` +
            loaded.problems.map(p => formatProblem('appspec', p)).join('; ') };
    }
    return previous;
  };

  const previousHooks = (event: EventName & keyof AppSpec['hooks']) => async (): Promise<Outcome> => {
    const prev = await previousSpec();
    const ignorable = spec.ignoreApplicationStopFailures;
    if (!prev.spec) {
      return { failed: true, errorCode: 'PreviousRevisionUnusable', ignored: ignorable,
        message: `${prev.problem}. ${ignorable ? 'Ignored (ignore application stop failures).' :
          'Deploy with --ignore-application-stop-failures to skip the previous revision\'s scripts.'}` };
    }
    const out = await runEventScripts(event, prev.spec.hooks[event] ?? [], { ...context, revisionDir: path.join(previousDir!, 'deployment-archive') }, hookDeps);
    if (out.failed && ignorable) {
      warn(`${event} of the previous revision failed and was ignored: ${out.message ?? ''}`, event);
      return { ...out, ignored: true };
    }
    if (out.failed) {
      out.message = `${out.message ?? ''} (this script comes from the previous revision; fix it on the host or ` +
        'deploy with --ignore-application-stop-failures)';
    }
    return out;
  };

  const installStep = async (): Promise<Outcome> => {
    try {
      const s = await install({
        spec: current!, revisionDir: archiveDir,
        behavior: current!.fileExistsBehavior ?? spec.fileExistsBehavior,
        cleanupFile: layout.cleanupFile(g), installJsonFile: layout.installJson(g),
        users: deps.users, envPath: options.baseEnv.PATH, warn: w => void logs.note(`install: warning: ${w}`),
      });
      void logs.note(`install: ${s.copied} file(s) copied, ${s.directories} director(ies) created, ` +
        `${s.removed} path(s) of the previous install removed, ${s.retained.length} retained`);
    } catch (err) {
      return { failed: true, errorCode: 'InstallFailed', message: describeError(err) };
    }
    // CodeDeploy moves the pointer at the end of Install: this revision's stop scripts run next time.
    await writeFileAtomic(layout.lastSuccessfulInstall(g), deploymentDir + '\n');
    return { failed: false };
  };

  // Ferry fetches and validates the revision before anything else, so a bad bundle never stops the app.
  await runEvent('DownloadBundle', downloadBundle);
  const currentScripts = (event: EventName) => async (): Promise<Outcome> => {
    const ctx = { ...context, revisionDir: archiveDir, ...(spec.bundleCommit && { bundleCommit: spec.bundleCommit }) };
    const scripts = isLifecycleEvent(event) ? current!.hooks[event] : current!.customHooks?.[event];
    return runEventScripts(event, scripts ?? [], ctx, hookDeps);
  };
  for (const event of order) {
    if (event === 'DownloadBundle') continue;
    if (!isLifecycleEvent(event)) {
      await runEvent(event, currentScripts(event));
      continue;
    }
    const source = PHASE_SOURCE[event];
    if (source === 'previous') {
      if (!previousDir && !failure && wanted.has(event)) {
        skip(event, 'first deployment of this group on this host: no previous revision');
        continue;
      }
      await runEvent(event, previousHooks(event));
    } else if (event === 'Install') {
      await runEvent(event, installStep);
    } else {
      await runEvent(event, currentScripts(event));
    }
  }

  const endedAt = clock.now();
  const result: HostDeploymentResult = {
    deploymentId: d, applicationName: spec.applicationName, groupName: spec.groupName, groupId: g,
    status: failure ? 'Failed' : 'Succeeded',
    ...(failure && { error: failure }),
    events: order.map(e => results.get(e) ?? { event: e, status: 'Skipped' }),
    warnings, deploymentDir, scriptsLog: layout.scriptsLog(g, d),
    startedAt: iso(startedAt), endedAt: iso(endedAt),
  };
  const logError = await logs.close();
  if (logError) result.warnings.push(`could not write hook logs: ${describeError(logError)}`);
  await writeFileAtomic(layout.resultFile(g, d), JSON.stringify(result, null, 2) + '\n');
  await clearMarker(layout, d);
  return result;
}
