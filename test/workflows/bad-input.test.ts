import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeadClient } from '../../src/client/index.js';
import {
  BUYING_STAGES,
  DEAL_LOSS_REASONS,
  ENGAGEMENT_KINDS,
  FORM_KINDS,
  LeadCommandSchema,
} from '../../src/machines/index.js';
import { commandUpdate, factSignal, stateQuery } from '../../src/workflows/messages.js';
import { FIT } from '../support/lead.js';
import { devServerLeads } from '../support/workflow.js';

/**
 * Property-based fuzzing of the workflow's doors, bypassing the typed client: whatever JSON arrives
 * as a command update or a fact signal, the workflow never fails, a refused input changes nothing,
 * and an accepted one is exactly what the schema allows.
 */
const t = devServerLeads();

/** Near-misses of every command shape, plus anything JSON can hold. */
const nearMiss = fc.oneof(
  fc.record(
    { type: fc.constantFrom(...LeadCommandSchema.options.map((o) => o.shape.type.value)) },
    { requiredKeys: [] },
  ),
  fc.record({
    type: fc.constant('engagement'),
    kind: fc.oneof(fc.constantFrom(...ENGAGEMENT_KINDS), fc.string()),
    contentStage: fc.option(fc.oneof(fc.constantFrom(...BUYING_STAGES), fc.integer())),
  }),
  fc.record({
    type: fc.constant('form.submitted'),
    form: fc.oneof(fc.constantFrom(...FORM_KINDS), fc.string()),
    consent: fc.oneof(fc.boolean(), fc.string()),
    profile: fc.oneof(fc.constant(FIT), fc.dictionary(fc.string(), fc.jsonValue())),
  }),
  fc.record({
    type: fc.constant('deal.lost'),
    reason: fc.oneof(fc.constantFrom(...DEAL_LOSS_REASONS), fc.string()),
  }),
  fc.record({ type: fc.constant('bant.updated'), bant: fc.dictionary(fc.string(), fc.jsonValue()) }),
  fc.record({
    type: fc.constantFrom('tick.nurture', 'sla.expired', 'cooldown.over', 'tick.decay'),
    at: fc.integer(),
  }),
  fc.jsonValue(),
);

describe('bad input never breaks a lead', () => {
  it('arbitrary command updates: refused ones change nothing, the workflow never fails', async () => {
    const ref = { tenant: `fuzz-${Date.now()}`, email: 'fuzz@acme.example' };
    await t.h.client.capture(ref, {
      type: 'form.submitted',
      form: 'contact',
      consent: true,
      profile: { ...FIT, email: ref.email },
    });
    const { workflowId } = LeadClient.keyOf(ref);
    const handle = t.env.client.workflow.getHandle(workflowId);

    await fc.assert(
      fc.asyncProperty(nearMiss, async (input) => {
        const before = await handle.query(stateQuery);
        const outcome = await handle
          .executeUpdate(commandUpdate, { args: [input as never] })
          .then(() => 'accepted' as const)
          .catch(() => 'refused' as const);
        const after = await handle.query(stateQuery);
        if (outcome === 'refused') {
          expect(after.state.value).toEqual(before.state.value);
          expect(after.state.context.profile).toEqual(before.state.context.profile);
          expect(after.state.context.bant).toEqual(before.state.context.bant);
        } else {
          // Only what the schema allows gets in: timer events and malformed shapes never do.
          expect(LeadCommandSchema.safeParse(input).success).toBe(true);
        }
      }),
      { numRuns: 60 },
    );

    // Signals cannot answer: garbage ones are dropped, and the lead still takes a good command.
    for (const garbage of [null, 42, 'x', { type: 'engagement', kind: 'telepathy' }, { type: 'deal.won' }]) {
      await handle.signal(factSignal, garbage as never);
    }
    const view = await t.h.client.send(ref, { type: 'engagement', kind: 'email_open' });
    expect(view.leadKey).toBe(LeadClient.keyOf(ref).leadKey);

    const description = await handle.describe();
    expect(description.status.name).toBe('RUNNING');
    const history = await handle.fetchHistory();
    const taskFailures = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes);
    expect(taskFailures).toEqual([]);
  }, 240_000);
});
