import { spawnSync } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import { Command } from 'commander';
import { describeError } from '../../common/errors.js';
import { isAlive } from '../../common/pid-lock.js';
import { readMarker } from './marker.js';

/**
 * `ferry-agent upgrade-watchdog --marker FILE` (hidden; started by the old agent from its kept
 * binary, self-upgrade.ts): waits until the new agent confirms (removes the marker) or the
 * marker's deadline passes. Then it puts the old binary back over the new one (a rename: atomic),
 * removes the marker and has the old agent started: `systemctl restart <unit>` under systemd,
 * else SIGTERM to the new agent (its supervisor starts the binary again, now the old one).
 */
export async function runWatchdog(file: string, say: (line: string) => void, pollMs = 500): Promise<number> {
  const first = readMarker(file);
  if (!first) {
    say(`no agent upgrade in progress (${file} is absent)`);
    return 0;
  }
  say(`watching the upgrade ${first.upgradeId} (${first.from} → ${first.to}) until ${new Date(first.deadlineMs).toISOString()}`);
  for (;;) {
    const m = readMarker(file);
    if (m?.upgradeId !== first.upgradeId) {
      say(`upgrade ${first.upgradeId} confirmed: the new agent registered`);
      return 0;
    }
    if (Date.now() >= m.deadlineMs) break;
    await new Promise(r => setTimeout(r, pollMs));
  }
  const m = readMarker(file) ?? first;
  try {
    renameSync(m.previous, m.exe);
  } catch (err) {
    say(`cannot put the old binary back (${m.previous} → ${m.exe}): ${describeError(err)}`);
    return 1;
  }
  rmSync(file, { force: true });
  say(`the new agent did not register by the deadline: put ${m.from} back as ${m.exe}`);
  if (m.supervisor === 'systemd') {
    const r = spawnSync('systemctl', ['restart', m.unit ?? 'ferry-agent.service'], { encoding: 'utf8', timeout: 60_000 });
    say(r.status === 0 ? `restarted ${m.unit}` : `systemctl restart ${m.unit} failed: ${r.error ? describeError(r.error) : r.stderr.trim()}`);
    return r.status === 0 ? 0 : 1;
  }
  if (m.pid !== undefined && isAlive(m.pid)) {
    process.kill(m.pid, 'SIGTERM');
    say(`stopped the new agent (pid ${m.pid}); its supervisor starts the old binary`);
    for (let i = 0; i < 40 && isAlive(m.pid); i++) await new Promise(r => setTimeout(r, 250));
    if (isAlive(m.pid)) process.kill(m.pid, 'SIGKILL');
  } else {
    say('the new agent is not running: its supervisor starts the old binary next');
  }
  return 0;
}

export function watchdogCommand(): Command {
  return new Command('upgrade-watchdog')
    .description('(started by the agent during ferry hosts upgrade) put the old agent binary back unless the new one registers in time')
    .requiredOption('--marker <file>', 'the upgrade record, <root-dir>/agent-state/upgrade.json');
}
