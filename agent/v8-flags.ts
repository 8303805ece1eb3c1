import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings of every `ferry-agent` process, applied by importing this module first
 * (ops/ferry-agent.ts): before any other module of the agent is loaded, so before any function of
 * it can get hot. Set from inside rather than on node's command line because the agent binary (a
 * Node 20 single executable, ops/agent-binary/) cannot be given node options (`execArgv` in the SEA
 * config is Node ≥ 24.6), and a unit's NODE_OPTIONS would reach the hooks' environment.
 *
 * `--max-opt=0`: functions stay in V8's interpreter; the optimizing compiler never runs. Measured
 * (bench/README.md, "idle footprint"): an idle agent's RSS −5 to −6 MiB, nearly all of it pages of
 * the node binary's own code (TurboFan) that one optimization at start-up touches and that stay
 * resident for the process's life; a 60 MB, 3,000-file deployment took about as long, for ~10 %
 * more of the agent's CPU (the work is hashing, inflating, writing and the hooks, not JavaScript).
 * A tiering limit, read when V8 decides to optimize: safe to set while running (node's
 * v8.setFlagsFromString warns of flags that change state V8 already built, which this is not).
 * Unlike `--jitless`/`--lite-mode` it keeps WebAssembly (Node's fetch needs it) and compiled
 * regular expressions.
 */
export const AGENT_V8_FLAGS: readonly string[] = ['--max-opt=0'];

for (const flag of AGENT_V8_FLAGS) setFlagsFromString(flag);
