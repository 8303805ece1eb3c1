// Loaded into every test process (package.json "tap" → "node-arg": --import of this file).
//
// tap's @tapjs/processinfo puts itself (an --import in NODE_OPTIONS) into every process a test
// starts, to collect coverage from it. Coverage is off for this suite ("disable-coverage"), yet in
// the bin/* processes the tests start by the thousand (every `ferry` call, coordinator and agent)
// it still costs a module-loader thread, a hook on every module load and a JSON file written at
// exit: about twice the CPU time of a short `ferry` call. So the processes the tests start get
// NODE_OPTIONS without it. The test process itself keeps it (tap's runner reads its output).
//
// If coverage is ever turned on (processinfo told to cover files), nothing is stripped.
import { createRequire } from 'node:module';

const PROCESSINFO = /(^|\s)"?--(?:import|loader|experimental-loader)[= ]"?[^"\s]*@tapjs[\\/]processinfo[\\/][^"\s]*"?/g;

export function withoutProcessInfo(nodeOptions) {
  return (nodeOptions ?? '').replace(PROCESSINFO, '').trim();
}

if (process.env._TAPJS_PROCESSINFO_COVERAGE_ !== '1') {
  let onSpawn;
  try {
    // processinfo re-adds itself to each spawn through process-on-spawn (its dependency, a
    // process-wide singleton); a listener added after its own runs after it.
    onSpawn = createRequire(import.meta.resolve('@tapjs/processinfo'))('process-on-spawn');
  } catch {
    onSpawn = undefined; // another tap layout: tests still pass, only slower
  }
  onSpawn?.addListener(opts => {
    const stripped = withoutProcessInfo(opts.env.NODE_OPTIONS);
    const env = { ...opts.env };
    if (stripped) env.NODE_OPTIONS = stripped;
    else delete env.NODE_OPTIONS;
    opts.env = env;
  });
}
