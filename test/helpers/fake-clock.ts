import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * A wall clock that jumps, for one process only: libfaketime (Debian package libfaketime) preloaded
 * into it, reading its offset from a file this side rewrites at run time. Only the wall clock moves
 * (FAKETIME_DONT_FAKE_MONOTONIC=1): Date.now() jumps, performance.now() and process.hrtime stay
 * monotonic, as when NTP or an operator steps a real clock. FAKETIME_NO_CACHE=1 makes every time
 * call read the file, so a jump takes effect at once.
 */
const MULTIARCH = ({ x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' } as Record<string, string>)[process.arch] ?? `${process.arch}-linux-gnu`;
/** The same path as scripts/test-prereqs.mjs checks (and installs as root). */
export const LIBFAKETIME = `/usr/lib/${MULTIARCH}/faketime/libfaketime.so.1`;

export function fakeClockUnavailable(): string | undefined {
  return existsSync(LIBFAKETIME) ? undefined : `${LIBFAKETIME} is missing: clock jumps need Debian's libfaketime (apt-get install libfaketime; scripts/test-prereqs.mjs does it as root)`;
}

export class FakeClock {
  /** The current offset from the real wall clock, in seconds. */
  offsetSeconds = 0;
  private constructor(readonly file: string) {}

  /** A clock at offset 0, its timestamp file in `dir`. Throws when libfaketime is missing. */
  static async create(dir: string): Promise<FakeClock> {
    const missing = fakeClockUnavailable();
    if (missing) throw new Error(missing);
    const clock = new FakeClock(path.join(dir, 'faketime.rc'));
    await clock.write();
    return clock;
  }

  /** The environment that puts a process on this clock (merge it into the process's env). */
  env(): NodeJS.ProcessEnv {
    return {
      LD_PRELOAD: LIBFAKETIME, FAKETIME_TIMESTAMP_FILE: this.file, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1',
    };
  }

  /** Steps the wall clock of every process on this clock by `seconds` (negative: back). */
  async jump(seconds: number): Promise<void> {
    this.offsetSeconds += seconds;
    await this.write();
  }

  /** Written whole, then renamed: a reader never sees half a line. */
  private async write(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await fs.writeFile(tmp, `${this.offsetSeconds >= 0 ? '+' : ''}${this.offsetSeconds}\n`);
    await fs.rename(tmp, this.file);
  }
}
