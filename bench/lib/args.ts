/** `npm run bench` arguments: parsed and checked once, with usage for --help and for a bad argument. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WORKFLOWS_PATH } from '../../src/worker.js';
import type { Path } from '../engine.js';

export const PHASES = ['machine', 'backtest', 'engine', 'history', 'scale', 'import', 'starts'] as const;
export type Phase = (typeof PHASES)[number];

export const USAGE = `usage: npm run bench -- [options]

  --phases <list>            ${PHASES.join(' | ')}, comma-separated (default: all)
  --engine-leads <n>         leads per engine round (20)
  --updates <n>              updates (or signals) per lead and round (50)
  --rounds <n>               engine rounds, median reported (3)
  --paths <list>             update | signal, comma-separated (update,signal)
  --can-updates <n>          updates of the continue-as-new check, 0 to skip (1100)
  --leads <n>                scale: open leads to reach (10000)
  --scale-seconds <n>        scale: time budget (150)
  --scale-concurrency <n>    scale: concurrent captures or import rows (16)
  --scale-by <how>           scale: capture | import (a generated HubSpot export of --leads rows) (capture)
  --import-rows <n>          import: rows of the generated HubSpot export (5000)
  --history-days <n>         history: simulated days per lead (365)
  --starts-leads <n>         starts: new leads per kind and round (50)
  --starts-concurrency <n>   starts: concurrent captures (8)
  --starts-rounds <n>        starts: rounds, median reported (3)
  --machine-ms <n>           machine: time per measurement (2000)
  --backtest-leads <n>       backtest: journaled leads, store kept in .leadcycle/bench-backtest-<n>/ (100000)
  --backtest-threads <n>     backtest: replay threads (one per core)
  --no-backtest-one-thread   backtest: skip the same what-if in one thread (the baseline of the ratio)
  --workflows <path>         the lead workflows' index.ts (src/workflows/index.ts)
  --preload <list>           modules the lead bundle preloads, comma-separated
  --variant <spec>           name=[path/to/workflows/index.ts][?preload=a,b][&codec=off], repeatable
  --plain                    the lead workflow without the payload codec
  --profile                  engine, lead workflow only, worker under --cpu-prof
  --out <file>               results file (bench/results.json)
  --markdown                 also print the table as Markdown
  -h, --help                 this text
`;

const { values: args } = (() => {
  try {
    return parseArgs({
      options: {
        phases: { type: 'string', default: PHASES.join(',') },
        'engine-leads': { type: 'string', default: '20' },
        updates: { type: 'string', default: '50' },
        rounds: { type: 'string', default: '3' },
        'can-updates': { type: 'string', default: '1100' },
        leads: { type: 'string', default: '10000' },
        'scale-seconds': { type: 'string', default: '150' },
        'scale-concurrency': { type: 'string', default: '16' },
        'scale-by': { type: 'string', default: 'capture' },
        'history-days': { type: 'string', default: '365' },
        'import-rows': { type: 'string', default: '5000' },
        'starts-leads': { type: 'string', default: '50' },
        'starts-concurrency': { type: 'string', default: '8' },
        'starts-rounds': { type: 'string', default: '3' },
        'machine-ms': { type: 'string', default: '2000' },
        'backtest-leads': { type: 'string', default: '100000' },
        'backtest-threads': { type: 'string' },
        'no-backtest-one-thread': { type: 'boolean', default: false },
        paths: { type: 'string', default: 'update,signal' },
        workflows: { type: 'string' },
        preload: { type: 'string' },
        variant: { type: 'string', multiple: true },
        plain: { type: 'boolean', default: false },
        profile: { type: 'boolean', default: false },
        out: { type: 'string', default: fileURLToPath(new URL('../results.json', import.meta.url)) },
        markdown: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
  }
})();

/** A bad argument is the caller's mistake: say which, show the usage, no stack trace. */
function usageError(message: string): never {
  console.error(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

const check = (ok: boolean, message: string) => {
  if (!ok) usageError(message);
};

const int = (name: keyof typeof args, min = 1) => {
  const n = Number(args[name]);
  check(Number.isInteger(n) && n >= min, `--${name} must be an integer ≥ ${min}`);
  return n;
};
const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * A lead-workflow variant measured next to ours: `name=[path/to/workflows/index.ts][?preload=a,b][&codec=off]`.
 * With no path it is the workflow in src/, e.g. `--variant plain=?codec=off` measures the codec's share.
 */
export interface Variant {
  name: string;
  workflows: string;
  preload: string[];
  codec: boolean;
}
function parseVariant(spec: string): Variant {
  const eq = spec.indexOf('=');
  check(eq > 0, `--variant ${spec}: expected name=path[?preload=module,module]`);
  const name = spec.slice(0, eq);
  check(name !== 'baseline' && name !== 'lead', `--variant name ${name} is taken`);
  const [path = '', query = ''] = spec.slice(eq + 1).split('?');
  const params = new URLSearchParams(query);
  return {
    name,
    workflows: path ? resolve(path) : WORKFLOWS_PATH,
    preload: list(params.get('preload') ?? ''),
    codec: params.get('codec') !== 'off',
  };
}

function scaleBy(value: string): 'capture' | 'import' {
  check(value === 'capture' || value === 'import', `--scale-by ${value}: expected capture or import`);
  return value as 'capture' | 'import';
}

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const phases = new Set(list(String(args.phases)));
for (const p of phases) check((PHASES as readonly string[]).includes(p), `unknown phase ${p}`);

/** What the run measures; written to results.json as it is. */
export const options = {
  phases: [...phases] as Phase[],
  engineLeads: int('engine-leads'),
  updates: int('updates'),
  rounds: int('rounds'),
  canUpdates: int('can-updates', 0),
  leads: int('leads'),
  scaleSeconds: int('scale-seconds'),
  scaleConcurrency: int('scale-concurrency'),
  scaleBy: scaleBy(String(args['scale-by'])),
  historyDays: int('history-days'),
  importRows: int('import-rows'),
  startsLeads: int('starts-leads'),
  startsConcurrency: int('starts-concurrency'),
  startsRounds: int('starts-rounds'),
  machineMs: int('machine-ms'),
  backtestLeads: int('backtest-leads'),
  backtestThreads: args['backtest-threads'] === undefined ? null : int('backtest-threads'),
  backtestOneThread: !args['no-backtest-one-thread'],
  paths: list(args.paths) as Path[],
  workflows: args.workflows ? resolve(args.workflows) : WORKFLOWS_PATH,
  /** Modules the lead bundle preloads once per V8 context (bundleWorkflowCode's preloadModules). */
  preload: list(args.preload),
  variants: (args.variant ?? []).map(parseVariant),
  /** The lead workflow's payloads go through the AES-GCM codec, as every leadcycle client and worker's do. */
  codec: args.plain !== true,
  profile: args.profile === true,
};
for (const p of options.paths) check(p === 'update' || p === 'signal', `unknown path ${p}`);

/** Where results go and how the table is printed: not part of what was measured. */
export const output = { file: String(args.out), markdown: args.markdown === true };
