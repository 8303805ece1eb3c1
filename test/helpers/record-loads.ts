/**
 * A preload (`node --import …/record-loads.js`) that appends the path of every module the process
 * loads to the file named by FERRY_RECORD_LOADS, one a line: ES modules through a loader hook
 * (record-loads-hooks.ts, on the loader's thread), CommonJS files through the CommonJS loader's
 * per-extension compile step (the files an ES module's `import` of a package pulls in with require).
 * A test reads the file to see what a process loaded so far, and what it did not.
 */
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const file = process.env.FERRY_RECORD_LOADS;
if (file) {
  register('./record-loads-hooks.js', { parentURL: import.meta.url, data: { file } });
  type Compile = (module: unknown, filename: string) => void;
  const extensions = (Module as unknown as { _extensions: Record<string, Compile> })._extensions;
  for (const ext of Object.keys(extensions)) {
    const compile = extensions[ext]!;
    extensions[ext] = (module, filename) => {
      appendFileSync(file, `${filename}\n`);
      compile(module, filename);
    };
  }
}
