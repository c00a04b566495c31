/**
 * `POST /v1/simulations`: `leadcycle simulate` over HTTP (src/simulator/). A simulation starts a
 * private time-skipping server and a worker for a few seconds, so one runs at a time: a request
 * that finds one running is a 429 with Retry-After. That bound is enough because a simulation is
 * short (a year in seconds) and holds nothing afterwards; backtest-style jobs (src/analytics/
 * backtest-jobs.ts) would add storage and polling for no gain. Admin keys, like the analytics.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LeadcycleConfigSchema } from '../machines/index.js';
import {
  JourneyError,
  JourneySchema,
  MAX_SIMULATION_DAYS,
  type SimulateOptions,
  type SimulationResult,
  simulate,
  simulationSvg,
} from '../simulator/index.js';
import { type ApiKeys, requireApiKey } from './auth.js';
import { ApiError, validationError } from './errors.js';
import { json, problem } from './leads.js';
import { IsoTimeSchema, named } from './schemas.js';

export const SimulationRequestSchema = named(
  'SimulationRequest',
  z
    .object({
      journey: JourneySchema,
      /** A what-if config: when given, it replaces the journey's own (defaults for what it leaves out). */
      config: LeadcycleConfigSchema.optional(),
      days: z.number().positive().max(MAX_SIMULATION_DAYS).optional(),
    })
    .strict(),
);

const Row = z.looseObject({ day: z.number() });
export const SimulationResultSchema = z.looseObject({
  name: z.string().nullable(),
  leadKey: z.string(),
  days: z.number(),
  startedAt: IsoTimeSchema,
  durationMs: z.number(),
  events: z.array(Row),
  stages: z.array(Row),
  emails: z.array(Row),
  handoffs: z.array(Row),
  effects: z.array(Row),
  final: z.looseObject({ stage: z.string() }),
});

export interface SimulationRoutesOptions {
  keys: ApiKeys;
  /** Default: simulate() (tests pass one with a prebuilt bundle). */
  run?: (options: SimulateOptions) => Promise<SimulationResult>;
}

export const simulationRoutes: FastifyPluginAsyncZod<SimulationRoutesOptions> = async (app, options) => {
  const run = options.run ?? simulate;
  requireApiKey(app, options.keys);
  let busy = false;

  app.post(
    '/simulations',
    {
      schema: {
        operationId: 'simulate',
        tags: ['analytics'],
        summary:
          'Run a journey through the real lead workflow on a time-skipping server: its emails, stages and handoffs by day',
        body: SimulationRequestSchema,
        querystring: z
          .object({
            format: z
              .enum(['json', 'svg'])
              .default('json')
              .describe('json: the result; svg: the same as a timeline (image/svg+xml), as `--svg` draws it'),
          })
          .strict(),
        response: {
          200: json(
            'What the lead received and when (or, with format=svg, its SVG timeline)',
            SimulationResultSchema,
          ),
          400: problem('The body does not match the schema; `issues` names each field'),
          401: problem('Missing or invalid API key'),
          429: problem('A simulation is running (one at a time); retry after Retry-After seconds'),
        },
      },
    },
    async (request, reply) => {
      if (busy) {
        throw new ApiError(429, 'simulation_busy', 'a simulation is running; one runs at a time', {
          headers: { 'retry-after': '10' },
        });
      }
      busy = true;
      try {
        const { journey, config, days } = request.body;
        const result = await run({
          journey: {
            ...journey,
            ...(config ? { rawConfig: config } : journey.config ? { rawConfig: journey.config } : {}),
          },
          ...(days === undefined ? {} : { days }),
          source: 'journey',
        });
        // The SVG is sent as it is: the response schema types (and serialises) the JSON answer only.
        if (request.query.format === 'svg')
          return reply.type('image/svg+xml').send(simulationSvg(result) as never);
        return result as unknown as z.output<typeof SimulationResultSchema>;
      } catch (err) {
        if (err instanceof JourneyError)
          throw validationError(
            err.issues.map((i) => ({ ...i, path: i.path[0] === 'config' ? i.path : ['journey', ...i.path] })),
            'body',
          );
        throw err;
      } finally {
        busy = false;
      }
    },
  );
};
