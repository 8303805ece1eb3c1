import type { CliConfig } from './config.js';

/** Output goes through an injected writer so tests capture it (docs/design/style.md §9). */
export interface Writer {
  out(text: string): void;
  err(text: string): void;
}

export const processWriter: Writer = {
  out: t => void process.stdout.write(t),
  err: t => void process.stderr.write(t),
};

export type Paint = (code: string, s: string) => string;
export const paint = (color: boolean): Paint => (code, s) => (color && code !== '' && s !== '' ? `\x1b[${code}m${s}\x1b[0m` : s);

export const COLORS = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', cyan: '36' } as const;

/** One command's view of the terminal: human lines or one JSON document, and progress. */
export class Output {
  readonly c: Paint;
  /** True while a live progress line is on screen (to be cleared before other output). */
  private liveShown = false;

  constructor(
    readonly w: Writer,
    readonly config: Pick<CliConfig, 'json' | 'color' | 'liveProgress' | 'columns'>,
  ) {
    this.c = paint(config.color);
  }

  get json(): boolean {
    return this.config.json;
  }

  /** Human output (stdout); ignored with --json, where the document is the output. */
  line(text = ''): void {
    if (this.config.json) return;
    this.clearLive();
    this.w.out(text + '\n');
  }

  lines(texts: readonly string[]): void {
    for (const t of texts) this.line(t);
  }

  /** The one JSON document of a --json run. */
  document(value: unknown): void {
    this.w.out(JSON.stringify(value, null, 2) + '\n');
  }

  /** Progress and notes: stderr with --json (stdout stays one document), stdout otherwise. */
  note(text: string): void {
    this.clearLive();
    this.progressWrite(text + '\n');
  }

  /** Redraws the single live progress line (TTY only). */
  live(text: string): void {
    this.progressWrite('\r\x1b[2K' + text);
    this.liveShown = true;
  }

  /** Ends the live line, leaving its last state on screen. */
  endLive(): void {
    if (!this.liveShown) return;
    this.progressWrite('\n');
    this.liveShown = false;
  }

  error(text: string): void {
    this.clearLive();
    this.w.err(text + '\n');
  }

  private clearLive(): void {
    if (!this.liveShown) return;
    this.progressWrite('\r\x1b[2K');
    this.liveShown = false;
  }

  private progressWrite(text: string): void {
    if (this.config.json) this.w.err(text);
    else this.w.out(text);
  }
}
