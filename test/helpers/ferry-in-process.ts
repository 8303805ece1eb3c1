import { type CliResult, REPO } from './agent-cli.js';

/**
 * `ferry ARGS` run inside the test process: the CLI's own entry (runCli, as bin/ferry runs it) with
 * the environment a `bin/ferry` child would get, talking real gRPC to the real coordinator. A
 * `bin/ferry` process costs ~0.5 s of CPU to start (Node, grpc-js, protobuf.js) and the e2e tests
 * run thousands of them, most to poll; in here the modules load once per test file.
 *
 * Only for what a child would do the same: not in a network namespace, times in UTC (bin/ferry's
 * TZ as runBin sets it). The process wrapper itself (bin/ferry, cli/main.ts: exit codes, EPIPE) is
 * tested by the unit tests that run bin/ferry (test/unit/cli-*.test.ts). FERRY_TEST_CLI=process
 * runs every `ferry` as a child again.
 */
export function ferryRunsInProcess(env: NodeJS.ProcessEnv, netns: string | undefined): boolean {
  return process.env.FERRY_TEST_CLI !== 'process' && netns === undefined && (env.TZ === undefined || env.TZ === 'UTC');
}

type RunCli = typeof import('../../cli/program.js').runCli;
type ReadCliEnvironment = typeof import('../../cli/config.js').readCliEnvironment;
let cli: Promise<{ runCli: RunCli; readCliEnvironment: ReadCliEnvironment }> | undefined;

/** Resolves like runBin('ferry', …): `env` is added to this process's (NO_COLOR=1, TZ=UTC as there). */
export async function ferryInProcess(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  const started = Date.now();
  cli ??= Promise.all([import('../../cli/program.js'), import('../../cli/config.js')]).then(([p, c]) => ({ runCli: p.runCli, readCliEnvironment: c.readCliEnvironment }));
  const { runCli, readCliEnvironment } = await cli;
  const notTty = { isTTY: false };
  // No localZone: the CLI then prints UTC, as bin/ferry does with TZ=UTC.
  const { localZone: _local, ...cliEnv } = readCliEnvironment({ ...process.env, NO_COLOR: '1', TZ: 'UTC', ...env }, notTty, notTty);
  let stdout = '';
  let stderr = '';
  let timer: NodeJS.Timeout | undefined;
  // A child would be killed at the bound; here the call is given up (a test bound, as there).
  const timedOut = new Promise<null>(resolve => (timer = setTimeout(() => resolve(null), timeoutMs)));
  const code = await Promise.race([
    runCli(args, { writer: { out: s => void (stdout += s), err: s => void (stderr += s) }, env: cliEnv, now: () => Date.now(), cwd: REPO }),
    timedOut,
  ]);
  clearTimeout(timer);
  const r: CliResult = { code, signal: code === null ? 'SIGKILL' : null, stdout, stderr, ms: Date.now() - started };
  try {
    r.json = JSON.parse(stdout);
  } catch {
    // not JSON output
  }
  return r;
}
