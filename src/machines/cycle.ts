import {
  type LeadcycleConfig,
  type LeadcycleConfigInput,
  LeadcycleConfigSchema,
  PRE_SUBSCRIPTION_NEWSLETTER_ISSUES,
} from './config.js';
import type { LeadInput } from './context.js';
import { type DeadlineOptions, deadlines, nextDeadline } from './deadlines.js';
import { applyEvent, type LeadSnapshot, type LeadState, restore, startLead, stateOf } from './decide.js';
import type { LeadEvent } from './events.js';
import { createLeadMachine, LATEST_RULES, type LeadRules } from './lead-machine.js';
import { viewOf } from './view.js';

/** The machine bound to one validated config: what the workflow, the client and the analytics use. */
export function createLeadCycle(
  input: LeadcycleConfigInput | LeadcycleConfig = {},
  rules: LeadRules = LATEST_RULES,
) {
  const parsed = LeadcycleConfigSchema.parse(input);
  // Without the newsletter-subscription rule a defaulted catalog is the one old leads ran: 12 issues.
  const config =
    rules.newsletterSubscription || input.content !== undefined
      ? parsed
      : {
          ...parsed,
          content: {
            ...parsed.content,
            newsletter: parsed.content.newsletter.slice(0, PRE_SUBSCRIPTION_NEWSLETTER_ISSUES),
          },
        };
  const machine = createLeadMachine(config, rules);
  // The deadlines follow the machine's rules; a host's options (recorded-run switches) come on top.
  const withRules = (options?: DeadlineOptions): DeadlineOptions => ({
    timeAges: rules.timeAges,
    newsletterSubscription: rules.newsletterSubscription,
    ...options,
  });
  return {
    config,
    machine,
    start: (lead: LeadInput) => startLead(machine, lead),
    apply: (snapshot: LeadSnapshot, event: LeadEvent) => applyEvent(machine, config, snapshot, event, rules),
    restore: (state: LeadState) => restore(machine, state),
    stateOf,
    deadlines: (state: LeadState, options?: DeadlineOptions) => deadlines(state, config, withRules(options)),
    nextDeadline: (state: LeadState, options?: DeadlineOptions) =>
      nextDeadline(state, config, withRules(options)),
    view: (state: LeadState) => viewOf(state, config, withRules()),
  };
}
export type LeadCycle = ReturnType<typeof createLeadCycle>;

/**
 * The cycles built so far, by config and rules. A cycle holds no lead (the machine is pure), so every
 * lead of one config can share one: a worker starts thousands of leads under a handful of configs,
 * and building the machine took 7.5% of the workflow thread's busy time when leads start. Bounded: a
 * rollout adds a config, old ones go first.
 */
const cycles = new Map<string, LeadCycle>();
const CYCLES_KEPT = 32;

/** `createLeadCycle(input, rules)`, built once per distinct config and rules. */
export function sharedLeadCycle(
  input: LeadcycleConfigInput | LeadcycleConfig = {},
  rules: LeadRules = LATEST_RULES,
): LeadCycle {
  const key = JSON.stringify([rules, input]);
  const known = cycles.get(key);
  if (known) return known;
  const cycle = createLeadCycle(input, rules);
  if (cycles.size >= CYCLES_KEPT) cycles.delete(cycles.keys().next().value as string);
  cycles.set(key, cycle);
  return cycle;
}
