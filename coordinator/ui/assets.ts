/**
 * The console's static files, built from coordinator/ui/app/ by `npm run build`
 * (scripts/build-console.mjs) into dist/coordinator/ui/assets/ and shipped in the package: read
 * once at start, served from memory, nothing fetched at run time.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Where the built files are: beside this module once built (dist/coordinator/ui/assets/). */
export function assetsDir(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'assets');
}

/** The built files by name (`index.html`, `app.js`, …); empty when the console was not built. */
export function loadAssets(dir = assetsDir()): Map<string, Asset> {
  const out = new Map<string, Asset>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type) out.set(name, { body: readFileSync(path.join(dir, name)), type });
  }
  return out;
}
