/**
 * The workflow bundle's preloaded module (src/worker.ts, `preloadModules`): with the SDK's reusable
 * V8 context it is evaluated once per worker thread, and so are the modules it imports (zod, xstate,
 * the machine and its ~485 zod schemas), instead of once per cached lead (about 1.6 MiB a lead).
 * Sharing them is what every other host of the machine does already (the client, the API, the
 * backtest's 100,000 leads in one process): the machine's modules keep no state between leads.
 *
 * The SDK deep-freezes every module loaded before the first workflow. Frozen constants would be
 * fine, frozen zod schemas are not: zod memoises into a schema on its first parse and defines its
 * methods on first use, and resets a RegExp's lastIndex on every check. So each module below
 * carries a guard its exports are walked through first: it throws while no workflow runs (the
 * freeze, which skips what throws), and answers undefined once one does.
 */
import * as zodCore from 'zod/v4/core';
import * as errors from '../errors.js';
import * as aging from './aging.js';
import * as config from './config.js';
import * as context from './context.js';
import * as cycle from './cycle.js';
import * as deadlines from './deadlines.js';
import * as decide from './decide.js';
import * as driver from './driver.js';
import * as effects from './effects.js';
import * as events from './events.js';
import * as guardTree from './guard-tree.js';
import * as guards from './guards.js';
import * as machines from './index.js';
import * as leadKey from './lead-key.js';
import * as leadMachine from './lead-machine.js';
import * as marketingRules from './marketing-rules.js';
import * as scoring from './scoring.js';
import * as step from './step.js';
import * as touch from './touch.js';
import * as view from './view.js';
import * as vocabulary from './vocabulary.js';

/** An integer key: an object's own keys list it before every named export, so the freeze meets it first. */
const GUARD_KEY = '0';

class SharedModuleFreeze extends Error {}

function guard(exports: object): void {
  if (Object.hasOwn(exports, GUARD_KEY)) return;
  Object.defineProperty(exports, GUARD_KEY, {
    enumerable: false,
    get() {
      if (!('__TEMPORAL_ACTIVATOR__' in globalThis)) throw new SharedModuleFreeze('shared module');
      return undefined;
    },
  });
}

for (const exports of [
  zodCore.regexes,
  errors,
  aging,
  config,
  context,
  cycle,
  deadlines,
  decide,
  driver,
  effects,
  events,
  guardTree,
  guards,
  machines,
  leadKey,
  leadMachine,
  marketingRules,
  scoring,
  step,
  touch,
  view,
  vocabulary,
]) {
  guard(exports);
}
