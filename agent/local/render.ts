import type { ExecutorEvent, HostDeploymentResult } from '../lifecycle/types.js';

/** Output goes through an injected writer so tests capture it (docs/design/style.md §9). */
export interface Writer {
  out(text: string): void;
  err(text: string): void;
}

export const processWriter: Writer = {
  out: t => void process.stdout.write(t),
  err: t => void process.stderr.write(t),
};

type Paint = (code: string, s: string) => string;
export const paint = (color: boolean): Paint => (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Renders executor events as readable live lines. */
export function liveRenderer(write: (line: string) => void, color: boolean): (e: ExecutorEvent) => void {
  const c = paint(color);
  return e => {
    switch (e.type) {
      case 'event-start':
        write(c('1', `▶ ${e.event}`) + (e.revision === 'previous' ? c('2', ' (scripts of the previous revision)') : ''));
        break;
      case 'script-start':
        write(c('2', `  ↳ ${e.location}`));
        break;
      case 'log':
        write(`    ${e.stream === 'stderr' ? c('33', '[stderr]') : c('2', '[stdout]')} ${e.line}`);
        break;
      case 'warning':
        write(c('33', `! warning${e.event ? ` (${e.event})` : ''}: ${e.message}`));
        break;
      case 'event-end': {
        const r = e.result;
        const name = r.event.padEnd(19);
        if (r.status === 'Skipped') {
          write(c('2', `– ${name} Skipped${r.message ? `: ${r.message}` : ''}`));
        } else if (r.status === 'Succeeded') {
          write(`${c('32', '✔')} ${name} ${c('32', 'Succeeded')}  ${formatMs(r.durationMs)}`);
        } else {
          const code = [r.errorCode, r.exitCode !== undefined ? `exit ${r.exitCode}` : undefined].filter(Boolean).join(', ');
          const mark = r.ignored ? c('33', '!') : c('31', '✘');
          write(`${mark} ${name} ${c(r.ignored ? '33' : '31', r.ignored ? 'Failed (ignored)' : 'Failed')}  ${code}  ${formatMs(r.durationMs)}`);
          if (r.message) for (const l of r.message.split('\n')) write(`    ${l}`);
        }
        break;
      }
    }
  };
}

export function verdictLines(r: HostDeploymentResult, color: boolean): string[] {
  const c = paint(color);
  const took = formatMs(Date.parse(r.endedAt) - Date.parse(r.startedAt));
  if (r.status === 'Succeeded') {
    return [
      c('32', `Deployment ${r.deploymentId} succeeded in ${took}.`),
      'AppSpec file valid. Local deployment successful',
      `Hook logs: ${r.scriptsLog}`,
    ];
  }
  return [
    c('31', `Deployment ${r.deploymentId} failed at ${r.error?.event ?? '?'} (${r.error?.code ?? 'UnknownError'}) after ${took}:`),
    ...(r.error?.message ?? '').split('\n').map(l => `  ${l}`),
    `Hook logs: ${r.scriptsLog}`,
  ];
}

/** The `--json` document. */
export function resultJson(r: HostDeploymentResult, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    deploymentId: r.deploymentId,
    status: r.status,
    applicationName: r.applicationName,
    deploymentGroupName: r.groupName,
    deploymentGroupId: r.groupId,
    ...extra,
    error: r.error ?? null,
    events: r.events.map(e => ({
      name: e.event,
      status: e.status,
      exitCode: e.exitCode ?? null,
      errorCode: e.errorCode ?? null,
      durationMs: e.durationMs ?? null,
      ...(e.script && { script: e.script }),
      ...(e.message && { message: e.message }),
      ...(e.ignored && { ignored: true }),
    })),
    warnings: r.warnings,
    deploymentDir: r.deploymentDir,
    scriptsLog: r.scriptsLog,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
  };
}
