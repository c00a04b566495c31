/**
 * Starting a `node:worker_threads` thread on a module beside this one, from the sources (tsx, vitest)
 * or once built: the backtest job's thread (backtest-thread.ts) and the replay threads
 * (replay-thread.ts) start the same way.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Where the modules are: .ts from the sources, .js once built. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** A module of src/analytics by its name without extension, as the running code has it. */
export const threadModule = (name: string): URL =>
  new URL(`./${name}.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url);

/** tsx's ESM register API, by its package's export map (its CJS twin cannot register from an eval'd thread). */
function tsxEsmApi(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const { exports } = require(manifest) as { exports: Record<string, { import: { default: string } }> };
  const entry = exports['./esm/api']?.import.default;
  if (!entry) throw new Error('tsx exports no ./esm/api: cannot run a thread from TypeScript');
  return new URL(entry, pathToFileURL(manifest)).href;
}

export function startThread(module: URL, workerData: unknown): Worker {
  if (!FROM_SOURCE) return new Worker(module, { workerData });
  // From the sources (tsx, vitest): Node 20 does not apply the parent's `--import tsx` loader in a
  // worker thread (tsx issue #354), so the thread registers tsx itself before importing the module.
  const boot = `import(${JSON.stringify(tsxEsmApi())})
    .then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })
    .catch((err) => { throw err; });`;
  return new Worker(boot, { eval: true, workerData });
}
