/**
 * `npm run build` (and `prepare`, so a clone and `npm pack` get it): dist/ holds the compiled
 * JavaScript with declarations, the CommonJS failure converter tsc does not copy, and the workflow
 * bundle, so an installed worker loads it instead of running webpack on every start.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../src/codec/keys.js';
import { PRELOAD_MODULES, WORKFLOW_BUNDLE_FILE, WORKFLOWS_PATH } from '../src/worker.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');

await rm(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});

// Non-TypeScript files the runtime loads (today only the .cjs failure converter).
for (const entry of await readdir(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
  const from = join(entry.parentPath, entry.name);
  const to = join(dist, relative(src, from));
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
}

// Built as the worker would build it from source: the same failure converter.
const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_PATH,
  failureConverterPath: FAILURE_CONVERTER_PATH,
  preloadModules: PRELOAD_MODULES,
  logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
});
await writeFile(join(dist, WORKFLOW_BUNDLE_FILE), code);
