import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings of every `ferry-agent` process, applied by importing this module first (bin/ferry-agent
 * loads it alone before the agent's module graph; ops/ferry-agent.ts imports it first, which is what
 * the agent binary runs), so before any function of the agent can get hot. Set from inside rather
 * than on node's command line because the agent binary (a Node 20 single executable,
 * ops/agent-binary/) cannot be given node options (`execArgv` in the SEA config is Node ≥ 24.6),
 * and a unit's NODE_OPTIONS would reach the hooks' environment. Both flags are read by V8 each time
 * it decides (whether to optimize a function, whether to grow the young generation), so setting
 * them while running takes effect from then on; neither changes what V8 has already built.
 *
 * Measured (bench/README.md, "Agent idle RSS"):
 * - `--max-opt=0`: functions stay in V8's interpreter; the optimizing compiler never runs. An idle
 *   agent's RSS −5 to −6 MiB, nearly all of it pages of the node binary's own code (TurboFan) that
 *   a handful of optimizations at start-up touch and that then stay resident for the process's
 *   life. A 60 MB, 3,000-file deployment took as long and as much of the agent's CPU, within the
 *   machine's spread (its work is hashing, inflating, writing files and running hooks, not
 *   JavaScript). Unlike `--jitless`/`--lite-mode` it keeps WebAssembly (Node's fetch needs it)
 *   and compiled regular expressions.
 * - `--semi-space-growth-factor=1`: the young generation keeps its initial size (1 MiB a
 *   semi-space) instead of doubling up to 16 MiB while the agent starts. With the default the
 *   grown space stays committed until a collection after start-up, which an idle agent (it
 *   allocates little) reaches late: ~64 MiB for 20–30 s alone, past 30 s for most of 20 agents
 *   started together, then ~56. With it, 56–60 MiB 10 s after start, ~56 once settled; 20 s after
 *   a 60 MB deployment 81–121 MiB, where main's agent stayed at 141–144.
 */
export const AGENT_V8_FLAGS: readonly string[] = ['--max-opt=0', '--semi-space-growth-factor=1'];

for (const flag of AGENT_V8_FLAGS) setFlagsFromString(flag);
