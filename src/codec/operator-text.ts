import { z } from 'zod';
import {
  LeadCommandSchema,
  LeadImportedSchema,
  TIMER_EVENT_TYPES,
  type TimerEventType,
} from '../machines/events.js';
import type { LeadView } from '../machines/view.js';
import { BUYING_STAGES, CONSENT_STATES, FORM_KINDS, STAGES, TEMPERATURES } from '../machines/vocabulary.js';
import {
  commandUpdate,
  configUpdate,
  factSignal,
  importUpdate,
  LEAD_WORKFLOW_TYPE,
  mergeUpdate,
  stateQuery,
} from '../workflows/messages.js';

/**
 * The texts an operator reads in the Temporal UI without the codec server: the workflow's summary,
 * its current details and its timers' summaries. They are built here from the machine's vocabulary,
 * numbers and ISO times only, and the codec leaves a payload unencrypted only when it is one of them
 * whole (isOperatorValue): a grammar with no free text, so no name, email, company, note or
 * sales owner can pass, whatever a caller puts in a string.
 */

const alt = (words: readonly string[]) =>
  `(?:${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`;

/** What each timer makes the lead wait for, in the operator's words. */
export const WAITING_FOR: Record<TimerEventType, string> = {
  'tick.decay': 'the score to decay',
  'tick.nurture': 'the next marketing email',
  'sla.expired': 'sales acceptance (the SLA ends)',
  'cooldown.over': 'the recycle cooldown to end',
  'tick.cool': 'the lead to cool down',
  'tick.stale': 'sales activity (else the owner is reminded)',
};

const COMMAND_TYPES: readonly string[] = [
  ...LeadCommandSchema.options.map((o) => o.shape.type.value),
  LeadImportedSchema.shape.type.value,
];

const ISO = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`;
/** Six digits at most: scores and percentages fit, a phone number does not. */
const NUMBER = String.raw`-?\d{1,6}`;
const DEFERRED = ' (deferred by the email cap)';
const NO_TIMER = 'Waiting for: commands only (no timer running)';

const TIMER = `${alt(TIMER_EVENT_TYPES)} at ${ISO}`;
const START = `Lead · started by ${alt(COMMAND_TYPES)}(?: \\(${alt(FORM_KINDS)}\\))?`;
const HEADLINE =
  `\\*\\*Lead · ${alt(STAGES)}\\*\\* · ${alt(TEMPERATURES)} · ${alt(BUYING_STAGES)} · score ${NUMBER}` +
  ` · fit ${NUMBER}% · consent ${alt(CONSENT_STATES)} · owner (?:marketing|sales)(?: · stale)?(?: · config v\\d{1,6})?`;
const WAIT_LINE = `- ${alt(Object.values(WAITING_FOR))}: ${TIMER}(?:${alt([DEFERRED])})?`;
// The deadlines a lead has at once are few (one per timer event): ten lines is plenty.
const DETAILS = `${HEADLINE}\n\n(?:Waiting for:\n\n${WAIT_LINE}(?:\n${WAIT_LINE}){0,9}|${alt([NO_TIMER])})`;

/**
 * Built on first use: the codec tests texts, the workflow only writes them, and every new lead's
 * workflow context evaluates this module (it is not among the shared ones).
 */
let pattern: RegExp | undefined;
const textPattern = () => {
  pattern ??= new RegExp(`^(?:${TIMER}|${START}|${DETAILS})$`);
  return pattern;
};

/** A timer's summary: the event it fires and when, e.g. `sla.expired at 2026-12-04T13:03:21.919Z`. */
export const timerSummary = (next: { event: TimerEventType; at: number }) =>
  `${next.event} at ${new Date(next.at).toISOString()}`;

/** The workflow's summary, set once at start: the command that started the lead. */
export function startSummary(command: { type: string; form?: string }): string {
  const form = command.type === 'form.submitted' && command.form ? ` (${command.form})` : '';
  return `Lead · started by ${command.type}${form}`;
}

/** The current details (markdown): the stage and its numbers, then what the lead waits for. */
export function detailsOf(view: LeadView): string {
  const headline =
    `**Lead · ${view.stage}** · ${view.temperature} · ${view.buyingStage} · score ${Math.round(view.score)}` +
    ` · fit ${Math.round(view.fitScore)}% · consent ${view.consent}` +
    // The owner's name stays encrypted: operators see only who works the lead.
    ` · owner ${view.owner === null ? 'marketing' : 'sales'}` +
    (view.stale ? ' · stale' : '') +
    (typeof view.configVersion === 'number' ? ` · config v${view.configVersion}` : '');
  const next = view.next.map(
    (d) =>
      `- ${WAITING_FOR[d.event]}: ${d.event} at ${new Date(d.at).toISOString()}${d.deferredByCap ? DEFERRED : ''}`,
  );
  return [headline, next.length ? `Waiting for:\n\n${next.join('\n')}` : NO_TIMER].join('\n\n');
}

/** Whether `text` is, whole, one of the operator texts above. */
export function isOperatorText(text: string): boolean {
  return text.length <= 2_000 && textPattern().test(text);
}

/**
 * The answer to the UI's `__temporal_workflow_metadata` query: the lead workflow's handler names
 * (the SDK's built-in ones with their fixed descriptions) and the current details.
 */
const SDK_QUERIES = {
  __stack_trace: 'Returns a sensible stack trace.',
  __enhanced_stack_trace: 'Returns a stack trace annotated with source information.',
  __temporal_workflow_metadata: 'Returns metadata associated with this workflow.',
} as const;
const handler = (names: readonly string[]) =>
  z
    .object({
      name: z.enum(names as [string, ...string[]]),
      description: z.enum(Object.values(SDK_QUERIES)).optional(),
    })
    .strict();
/** Built on first use, as the text pattern is. */
let workflowMetadataSchema: z.ZodType | undefined;
const workflowMetadata = () => {
  workflowMetadataSchema ??= z
    .object({
      definition: z
        .object({
          type: z.literal(LEAD_WORKFLOW_TYPE),
          queryDefinitions: z.array(handler([stateQuery.name, ...Object.keys(SDK_QUERIES)])).max(10),
          signalDefinitions: z.array(handler([factSignal.name])).max(10),
          updateDefinitions: z
            .array(handler([commandUpdate.name, mergeUpdate.name, configUpdate.name, importUpdate.name]))
            .max(10),
        })
        .strict(),
      currentDetails: z.string().refine((s) => s === '' || isOperatorText(s)),
    })
    .strict();
  return workflowMetadataSchema;
};

/**
 * Whether a payload's value (as JSON decoded it) may stay in the clear: an operator text, or the
 * workflow metadata answer that carries one. Anything else, an object with any other key included,
 * is not.
 */
export function isOperatorValue(value: unknown): boolean {
  if (typeof value === 'string') return isOperatorText(value);
  return workflowMetadata().safeParse(value).success;
}
