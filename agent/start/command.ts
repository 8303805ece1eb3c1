import { Command } from 'commander';
import { type AgentEnvironment, LOG_LEVELS, loadStartConfig } from '../config.js';
import { runDaemon } from './daemon.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function startCommand(): Command {
  return new Command('start')
    .description('run the agent daemon: connect to the coordinator, run the host deployments it sends, report results')
    .option('--coordinator <host:port[,host:port…]>', 'the coordinator\'s agent endpoint; several comma-separated for the replicas of an HA coordinator (default: $FERRY_COORDINATOR)')
    .option('--root-dir <dir>', 'deployment root (default /opt/ferry-agent/deployment-root; ~/.ferry-agent/deployment-root when not root)')
    .option('--host-id <id>', 'this host\'s id (default: generated once, kept in <root>/host-id)')
    .option('--tag <key=value>', 'a host tag, repeatable (deployment groups select hosts by tags)', collect, [])
    .option('--zone <zone>', 'the host\'s availability zone, for zonal rollouts')
    .option('--config <file>', 'YAML file with the same settings, see docs/configuration.md (default $FERRY_AGENT_CONFIG, else /etc/ferry/agent.yaml when it exists); flags win')
    .option('--log-level <level>', `${LOG_LEVELS.join('|')} (default info)`)
    .option('--heartbeat-interval <duration>', 'until the coordinator sets one (default 5s)')
    .option('--max-revisions <n>', 'deployments kept on disk per group, the current one included (default 5)')
    .option('--max-bundle-size <size>', 'largest unpacked revision accepted (default 2G)')
    .option('--max-download-rate <size>', 'cap revision downloads at this many bytes per second (e.g. 20M; default unlimited)')
    .option('--output-grace <duration>', 'how long a finished script\'s children may keep stdout/stderr open (default 3s)')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (off by default; unauthenticated: keep it on loopback)')
    .option('--renew-before <duration>', 'an enrolled agent renews its certificate (1 year) when it expires within this long (default 30d)')
    .option('--kill-grace <duration>', 'between TERM and KILL of a hook\'s process group (default 10s)')
    .addHelpText('after', `
Logs: readable lines on stderr; JSON lines in <root>/logs/ferry-agent.log (10 MiB x 5).
Exit codes: 0 stopped by SIGTERM/SIGINT, 1 failed, 2 bad usage (the message names the flag).

Examples:
  ferry-agent start --coordinator coordinator.internal:7443 --tag role=web --tag env=prod --zone eu-1a
  FERRY_COORDINATOR=10.0.0.5:7443 ferry-agent start --config /etc/ferry/agent.yaml
  ferry-agent start --coordinator 10.0.0.5:7443 --metrics-listen 127.0.0.1:9465   # Prometheus scrapes /metrics
  ferry-agent start --coordinator ferry-a:7443,ferry-b:7443,ferry-c:7443           # HA replicas: moves on when one goes`);
}

/** Validates flags (+ config file, environment) and runs the daemon until a signal. */
export async function executeStart(opts: Record<string, unknown>, env: AgentEnvironment, cwd: string): Promise<number> {
  const flags = { ...opts };
  if (Array.isArray(flags.tag) && flags.tag.length === 0) delete flags.tag;
  const cfg = await loadStartConfig(flags, env, cwd);
  return runDaemon(cfg, env);
}
