import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * One full garbage collection a few seconds after the agent has settled (registered; a deployment
 * reported): what start-up or a deployment left behind is freed then, not whenever an idle agent,
 * which allocates little, reaches its next collection. V8's `gc()` without `--expose-gc` on node's
 * command line (the agent binary takes no node options: v8-flags.ts): the flag set while running,
 * then the function taken from a fresh context, where V8 installs it.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (() => void) | undefined;

let timer: NodeJS.Timeout | undefined;

/** Collects once `delayMs` from now (a later call moves it); never keeps the process alive. */
export function settleSoon(delayMs = 5000): void {
  if (!gc) return;
  clearTimeout(timer);
  timer = setTimeout(gc, delayMs);
  timer.unref();
}
