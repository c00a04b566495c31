/**
 * A journey: one lead's story for the simulator, as a file a marketer writes. Events at day offsets
 * from the start: commands (what apps send: forms, engagement, sales steps) and facts (what apps
 * signal: page views, email opens). Checked by zod; a refusal names the field (`events.2.command.type`).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { type LeadRef, LeadRefSchema } from '../client/lead-key.js';
import { describeIssues, type FieldIssue, issuesOf, LeadcycleError } from '../errors.js';
import { LeadCommandSchema, LeadcycleConfigSchema, LeadFactSchema } from '../machines/index.js';

/** The longest a simulation runs: three years of a lead's life stay well within a minute. */
export const MAX_SIMULATION_DAYS = 1095;
export const DEFAULT_SIMULATION_DAYS = 365;
/** Events per journey: enough for any story; bounded because each is a round trip to the server. */
export const MAX_JOURNEY_EVENTS = 500;
/** The lead a journey without `lead` gets: a made-up address in a tenant of its own. */
export const DEFAULT_SIMULATED_LEAD = { tenant: 'simulation', email: 'lead@simulation.example' } as const;

const DaySchema = z.number().min(0).max(MAX_SIMULATION_DAYS);

export const JourneyEventSchema = z
  .object({
    /** Days after the start (fractions allowed: 0.5 is noon of day 0). */
    day: DaySchema,
    /** An app's command, as `leadcycle send` and POST /v1/leads/commands take it. */
    command: LeadCommandSchema.optional(),
    /** A fact, as `leadcycle track` and POST /v1/leads/facts take it (a signal: no answer). */
    fact: LeadFactSchema.optional(),
    /** Free text shown next to the event. */
    note: z.string().max(200).optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if ((e.command === undefined) === (e.fact === undefined))
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'give exactly one of command or fact' });
  });
export type JourneyEvent = z.output<typeof JourneyEventSchema>;

export const JourneySchema = z
  .object({
    /** What the story is about, shown in the output. */
    name: z.string().max(200).optional(),
    /** The simulated lead (default: its first profile's address, in tenant `simulation`). */
    lead: LeadRefSchema.optional(),
    /** The config the lead runs with (defaults for what it leaves out); a `--config` file overrides it. */
    config: LeadcycleConfigSchema.optional(),
    /** How many days to run (default 365; `--days` overrides it). */
    days: z.number().positive().max(MAX_SIMULATION_DAYS).optional(),
    events: z.array(JourneyEventSchema).min(1).max(MAX_JOURNEY_EVENTS),
  })
  .strict();
export type JourneyInput = z.input<typeof JourneySchema>;
export type Journey = z.output<typeof JourneySchema>;

/**
 * The simulated lead: the journey's `lead`, else the address of its first profile (tenant
 * `simulation`), else lead@simulation.example.
 */
export function leadOf(journey: Journey): LeadRef {
  if (journey.lead) return journey.lead;
  for (const e of journey.events) {
    const email = e.command && 'profile' in e.command ? e.command.profile.email : undefined;
    if (email) return { tenant: DEFAULT_SIMULATED_LEAD.tenant, email };
  }
  return DEFAULT_SIMULATED_LEAD;
}

/** A journey that does not parse or validate: which file (or body), which field, and why. */
export class JourneyError extends LeadcycleError<'invalid_journey'> {
  constructor(
    readonly source: string,
    readonly issues: FieldIssue[],
  ) {
    super('invalid_journey', `${source}: ${describeIssues(issues, '(journey)')}`);
  }
}

/** The journey checked; the raw config is kept as given (defaults are filled in by the lead itself). */
export function parseJourney(input: unknown, source = 'journey'): Journey & { rawConfig?: unknown } {
  const parsed = JourneySchema.safeParse(input);
  if (!parsed.success) throw new JourneyError(source, issuesOf(parsed.error));
  const rawConfig = (input as { config?: unknown }).config;
  return { ...parsed.data, ...(rawConfig === undefined ? {} : { rawConfig }) };
}

export async function loadJourneyFile(path: string): Promise<Journey & { rawConfig?: unknown }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new JourneyError(path, [{ path: [], message: (err as Error).message }]);
  }
  return parseJourney(raw, path);
}

/** Events in the order they happen (stable: same-day events keep the file's order), checked against the horizon. */
export function eventsInOrder(journey: Journey, days: number, source = 'journey'): JourneyEvent[] {
  const late = journey.events.flatMap((e, i) =>
    e.day > days
      ? [{ path: ['events', String(i), 'day'], message: `after the simulation's end (day ${days})` }]
      : [],
  );
  if (late.length > 0) throw new JourneyError(source, late);
  return journey.events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.day - b.e.day || a.i - b.i)
    .map(({ e }) => e);
}
