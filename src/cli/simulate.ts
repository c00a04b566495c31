/**
 * `leadcycle simulate`: a journey through the real lead workflow on a private time-skipping server
 * (src/simulator/), printed as a table (or JSON with --json), optionally drawn as an SVG timeline.
 * Needs no running stack, and touches none: no Temporal of the deployment, no data dir.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { readConfigOverrides } from '../config-file.js';
import { InvalidInputError } from '../errors.js';
import {
  checkSimulation,
  DEFAULT_SIMULATION_DAYS,
  describeSimulation,
  loadJourneyFile,
  MAX_SIMULATION_DAYS,
  simulate,
  simulationSvg,
} from '../simulator/index.js';
import { parseOptions } from './options.js';
import type { Output } from './output.js';

const SimulateOptionsSchema = z
  .object({
    journey: z.string().min(1),
    config: z.string().min(1).optional(),
    days: z.coerce.number().positive().max(MAX_SIMULATION_DAYS).optional(),
    svg: z.string().min(1).optional(),
  })
  .strict();

/** The worker's log would drown the table: errors only (the SDK's runtime is installed once per process). */
function quietRuntime(): Runtime | null {
  try {
    return Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
    });
  } catch {
    // Already installed (by a test, or an embedding program): keep it.
    return null;
  }
}

export function addSimulateCommand(program: Command, out: Output): void {
  program
    .command('simulate')
    .description(
      `run a journey (events at day offsets) through the real lead workflow on a time-skipping server; shows emails, stages and handoffs by day (default ${DEFAULT_SIMULATION_DAYS} days; nothing reaches the real store)`,
    )
    .requiredOption('--journey <file>', 'journey JSON file (see examples/journey.json)')
    .option('--config <file>', 'what-if config JSON: its fields override the journey’s config')
    .addOption(
      new Option(
        '--days <days>',
        `days to simulate (default: the journey's, else ${DEFAULT_SIMULATION_DAYS}; at most ${MAX_SIMULATION_DAYS})`,
      ),
    )
    .option('--svg <file>', 'also write the timeline as SVG to this file')
    .action(async (given: unknown) => {
      const {
        journey: journeyFile,
        config: configFile,
        days,
        svg,
      } = parseOptions(SimulateOptionsSchema, given);
      const journey = await loadJourneyFile(resolve(journeyFile));
      const config = configFile ? await readConfigOverrides(resolve(configFile)) : undefined;
      const options = {
        journey,
        source: journeyFile,
        ...(config ? { config } : {}),
        ...(days === undefined ? {} : { days }),
      };
      checkSimulation(options); // before the SDK's runtime: a refused journey exits at once
      const runtime = quietRuntime();
      const progress = out.progress('simulating…');
      const result = await simulate(options).catch(async (err) => {
        // A run that failed may leave the runtime up (it shuts down with its last worker): stop it.
        await runtime?.shutdown().catch(() => {});
        throw err;
      });
      progress.done();
      if (svg) {
        try {
          await writeFile(resolve(svg), simulationSvg(result));
        } catch (err) {
          throw new InvalidInputError([{ path: ['svg'], message: (err as Error).message }], 'options');
        }
      }
      out.print(result, () => describeSimulation(result) + (svg ? `\ntimeline: ${resolve(svg)}` : ''));
    });
}
