#!/usr/bin/env node
// `npm run demo`: deploys hooks-examples/sample-app on this machine twice (v1, then v2) with
// `ferry-agent local`, so you can watch the whole CodeDeploy lifecycle live, including v1's
// ApplicationStop running before v2 is installed. Everything goes to a fresh temp root dir.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const agent = path.join(repo, 'bin', 'ferry-agent');
const work = mkdtempSync(path.join(os.tmpdir(), 'ferry-demo-'));
const root = path.join(work, 'deployment-root');
const v1 = path.join(repo, 'hooks-examples', 'sample-app');
const v2 = path.join(work, 'sample-app-v2');
cpSync(v1, v2, { recursive: true });
writeFileSync(path.join(v2, 'app', 'VERSION'), '2\n');

const say = text => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
function deploy(bundle, label) {
  say(`Deploying ${label}: ferry-agent local --bundle-location ${path.relative(process.cwd(), bundle) || bundle}`);
  const r = spawnSync(process.execPath, [
    agent, 'local',
    '--bundle-location', bundle,
    '--root-dir', root,
    '--application-name', 'sample-app',
    '--deployment-group-name', 'demo',
    // The sample installs into /tmp/ferry-sample-app; OVERWRITE lets the demo run again and again.
    '--file-exists-behavior', 'OVERWRITE',
  ], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`\ndemo: the ${label} deployment failed (exit ${r.status}); see the output above\n`);
    process.exit(1);
  }
}

deploy(v1, 'v1 (first install: the previous-revision hooks are skipped)');
deploy(v2, 'v2 (v1\'s BeforeBlockTraffic, AfterBlockTraffic and ApplicationStop run first)');
say('Where to look');
process.stdout.write(`  installed files        /tmp/ferry-sample-app (VERSION now 2)
  deployment root        ${root}
  per-deployment logs    ${root}/default-local-deployment-group/<deployment-id>/logs/scripts.log
  all hook output        ${root}/deployment-logs/ferry-agent-deployments.log
  install records        ${root}/deployment-instructions/
Try it with your own CodeDeploy bundle:  bin/ferry-agent local --bundle-location PATH --root-dir ${root}
`);
