#!/usr/bin/env node
// Builds the web console (coordinator/ui/app/, Preact + TypeScript) into dist/coordinator/ui/assets/:
// one JavaScript bundle, one stylesheet and index.html, served by the coordinator at /ui/
// (coordinator/ui/assets.ts). Type-checks the app first (its own tsconfig: DOM, JSX). Run by `npm run build`.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const app = path.join(root, 'coordinator/ui/app');
const out = path.join(root, 'dist/coordinator/ui/assets');

const check = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(app, 'tsconfig.json')], { stdio: 'inherit' });
if (check.status !== 0) process.exit(check.status ?? 1);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: path.join(app, 'main.tsx') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(path.join(app, 'index.html'), path.join(out, 'index.html'));
