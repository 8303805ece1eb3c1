import { type ChildProcess, spawn } from 'node:child_process';
import { inNetns } from './agent-cli.js';

export interface RootRun {
  code: number | null;
  out: string;
}

/**
 * A throwaway copy of this machine's root to install packages into, without Docker: an overlay
 * whose lower layer is `/` (read-only) and whose upper layer is `dir/upper`, mounted in a private
 * mount namespace (unshare) and entered with chroot. Every change lands in `dir`; each `run` mounts
 * it again, so steps (install, upgrade, remove) see what the previous ones left. Needs root.
 * `netns`: inside that network namespace (test/helpers/netns.ts) instead of the machine's network.
 * `withoutNode`: Node.js is removed from the root before each script (every `node`/`nodejs` on the
 * standard PATH directories and its global modules: whiteouts in the upper layer), and the script
 * fails (exit 97) if `node` can still be found.
 */
export function overlayRoot(dir: string, opts: { netns?: string; withoutNode?: boolean } = {}): { run(script: string): Promise<RootRun>; start(script: string): ChildProcess } {
  const enter = [
    'set -e',
    'd=$1; mkdir -p "$d/upper" "$d/work" "$d/root"',
    'mount -t overlay overlay -o "lowerdir=/,upperdir=$d/upper,workdir=$d/work" "$d/root"',
    'mount --bind /dev "$d/root/dev"',
    'mount -t proc proc "$d/root/proc"',
    'mount -t tmpfs tmpfs "$d/root/run"', // no systemd in here: the packages must say so, not call it
    'exec chroot "$d/root" /bin/sh -c "$2"',
  ].join('\n');
  const noNode = opts.withoutNode ? [
    'for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do rm -f "$d/node" "$d/nodejs" "$d/npm" "$d/npx"; done',
    'rm -rf /usr/lib/node_modules /usr/local/lib/node_modules /usr/include/node',
    'if command -v node >/dev/null 2>&1 || command -v nodejs >/dev/null 2>&1; then echo "node is still reachable: $(command -v node nodejs)"; exit 97; fi',
  ].join('\n') : '';
  const launch = (script: string) => {
    const [file, args] = inNetns(opts.netns, ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', enter, 'sh', dir, `set -e\n${noNode}\n${script}`]);
    return spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', DEBIAN_FRONTEND: 'noninteractive' } });
  };
  return {
    /** A long-running process in the root (`exec` it in `script`: the pid is then the program's). */
    start: launch,
    run: script => new Promise((resolve, reject) => {
      const child = launch(script);
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('error', reject);
      child.on('close', code => resolve({ code, out }));
    }),
  };
}
