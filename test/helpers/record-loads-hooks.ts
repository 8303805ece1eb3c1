/** The loader hooks of record-loads.ts: appends every ES module's path (or URL) to the file it names. */
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let file = '';

export function initialize(data: { file: string }): void {
  file = data.file;
}

type Next = (url: string, context: unknown) => Promise<unknown>;

export async function load(url: string, context: unknown, next: Next): Promise<unknown> {
  appendFileSync(file, `${url.startsWith('file:') ? fileURLToPath(url) : url}\n`);
  return next(url, context);
}
