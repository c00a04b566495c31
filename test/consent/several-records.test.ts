import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActivities, Outbox, OutboxCrm, OutboxSender } from '../../src/activities/index.js';
import { addressHash, openAnalyticsStore } from '../../src/analytics/index.js';
import {
  createLeadCycle,
  DAY_MS,
  type Effect,
  keyAddressOf,
  type LeadCommandInput,
  type LeadContext,
  LeadDriver,
  type LeadEvent,
} from '../../src/machines/index.js';
import { effectCall } from '../../src/workflows/effect-calls.js';
import { tempDir } from '../activities/helpers.js';
import { BANT_COMPLETE, T0 } from '../support/lead.js';

/**
 * Consent belongs to the person: random schedules of commands across several records of one
 * address (the email-keyed lead and two CRM records), each record driven by the lead driver its
 * workflow runs, and every effect carried out by the real activities over a real store and outbox,
 * exactly as the workflow calls them. After a do-not-contact on any record, the address gets no
 * marketing email, whatever record asks; a DNC lead is never handed or escalated to sales, nor
 * accepted; a plain unsubscribe suppresses nothing.
 */
const TENANT = 'acme';
const ADDRESS = 'ada@acme.example';
const RECORDS = [`${TENANT}:email:${ADDRESS}`, `${TENANT}:ext:crm-1`, `${TENANT}:ext:crm-2`];
const PROFILE = { email: ADDRESS, companySize: 250, sector: 'software', jobFunction: 'it' };
const cycle = createLeadCycle({ nurtureCadenceDays: 2 });
const addressOf = (context: LeadContext) => keyAddressOf(context.leadKey) ?? context.profile.email ?? null;

const commandArb = fc.oneof<fc.Arbitrary<LeadCommandInput>[]>(
  fc
    .boolean()
    .map((consent) => ({ type: 'form.submitted', form: 'content_download', consent, profile: PROFILE })),
  fc.constantFrom<LeadCommandInput>(
    { type: 'engagement', kind: 'demo_request' },
    { type: 'engagement', kind: 'webinar_attended' },
    { type: 'engagement', kind: 'pricing_page' },
    { type: 'bant.updated', bant: BANT_COMPLETE },
    { type: 'sales.accepted', owner: 'rep-7' },
    { type: 'consent.subscribed' },
  ),
  fc.boolean().map((doNotContact): LeadCommandInput => ({ type: 'consent.unsubscribed', doNotContact })),
);
interface Step {
  record: number;
  afterDays: number;
  command: LeadCommandInput;
}
const stepArb: fc.Arbitrary<Step> = fc.record({
  record: fc.integer({ min: 0, max: RECORDS.length - 1 }),
  afterDays: fc.integer({ min: 0, max: 12 }),
  command: commandArb,
});

interface Outcome {
  deliveredAfterDnc: number;
  handoffsWhileDnc: Effect[];
  acceptedWhileDnc: number;
  suppressedWithoutDnc: boolean;
  delivered: number;
}

async function play(steps: Step[]): Promise<Outcome> {
  const { dir, cleanup } = await tempDir();
  const outbox = new Outbox(dir);
  const analytics = openAnalyticsStore(dir);
  const mail = { from: 'Acme <marketing@acme.example>', unsubscribeUrl: null, unsubscribeLink: null };
  const activities = createActivities({
    outbox,
    sender: new OutboxSender(outbox, mail),
    crm: new OutboxCrm(outbox),
    analytics,
  });
  const drivers = RECORDS.map((leadKey, i) =>
    LeadDriver.start(cycle, { leadKey, at: T0 }, { id: `lead-${i}`, atDeadlines: true }),
  );
  const outcome: Outcome = {
    deliveredAfterDnc: 0,
    handoffsWhileDnc: [],
    acceptedWhileDnc: 0,
    suppressedWithoutDnc: false,
    delivered: 0,
  };
  let dncAccepted = false;

  /** Carries out what a driver queued, as its workflow would, and checks each handoff. */
  const settle = async (driver: LeadDriver, dncBefore: boolean, resubscribed: boolean) => {
    const dnc = dncBefore || driver.state.context.consent.doNotContact;
    for (let pending = driver.pending[0]; pending; pending = driver.pending[0]) {
      if (pending.effect.type === 'sales.handoff' && dnc && !resubscribed)
        outcome.handoffsWhileDnc.push(pending.effect);
      const call = effectCall(pending, driver.snapshot, driver.options.id);
      if (call?.activity === 'sendContent') {
        const { delivered } = await activities.sendContent(call.input);
        if (delivered) outcome.delivered++;
        if (delivered && dncAccepted) outcome.deliveredAfterDnc++;
      } else if (call?.activity === 'recordConsentChange') await activities.recordConsentChange(call.input);
      else if (call?.activity === 'recordStageChange') await activities.recordStageChange(call.input);
      else if (call?.activity === 'handOffToSales') await activities.handOffToSales(call.input);
      driver.effectDone(pending);
    }
  };

  try {
    let now = T0;
    for (const step of steps) {
      now += step.afterDays * DAY_MS;
      // Every record's own timers fire as time passes, whatever record the next command is for.
      for (const driver of drivers) {
        const dncBefore = driver.state.context.consent.doNotContact;
        driver.feedDue(now);
        await settle(driver, dncBefore, false);
      }
      const driver = drivers[step.record] as LeadDriver;
      const dncBefore = driver.state.context.consent.doNotContact;
      const event = { ...step.command, at: now } as LeadEvent;
      const refused = driver.offer(event);
      if (!refused && event.type === 'sales.accepted' && dncBefore) outcome.acceptedWhileDnc++;
      driver.feedDue(now);
      await settle(driver, dncBefore, event.type === 'consent.subscribed');
      // Once a record that knows the address is do-not-contact, the person has said no (for good: a
      // record's resubscribe does not lift the address's suppression).
      dncAccepted ||= drivers.some(
        ({ state: { context } }) => context.consent.doNotContact && addressOf(context) === ADDRESS,
      );
    }
    // And a quarter passes after the last command.
    for (const driver of drivers) {
      const dncBefore = driver.state.context.consent.doNotContact;
      driver.feedDue(now + 90 * DAY_MS);
      await settle(driver, dncBefore, false);
    }
    const suppressed = await analytics.suppression(TENANT, addressHash(TENANT, ADDRESS));
    outcome.suppressedWithoutDnc = suppressed !== null && !dncAccepted;
    return outcome;
  } finally {
    await analytics.close();
    await outbox.close();
    await cleanup();
  }
}

describe('consent belongs to the person, across several records of one address', () => {
  it('after a do-not-contact on any record: no marketing email to the address, no handoff, escalation or acceptance of a DNC lead', async () => {
    let delivered = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 4, maxLength: 24 }), async (steps) => {
        const outcome = await play(steps);
        delivered += outcome.delivered;
        expect(outcome.deliveredAfterDnc).toBe(0);
        expect(outcome.handoffsWhileDnc).toEqual([]);
        expect(outcome.acceptedWhileDnc).toBe(0);
        expect(outcome.suppressedWithoutDnc).toBe(false);
      }),
      { numRuns: 60, seed: 20261201 },
    );
    // The schedules do mail the address before anyone says no: the property is not vacuous.
    expect(delivered).toBeGreaterThan(20);
  }, 120_000);
});

describe('effects leave with the consent of the moment', () => {
  it('an email queued before an unsubscribe is carried out with the withdrawn consent', () => {
    const driver = LeadDriver.start(
      cycle,
      { leadKey: RECORDS[0] as string, at: T0 },
      { id: 'lead-q', atDeadlines: true },
    );
    driver.offer({
      type: 'form.submitted',
      form: 'content_download',
      consent: true,
      profile: PROFILE,
      at: T0,
    });
    driver.feedDue(T0);
    const email = driver.pending.find((p) => p.effect.type === 'content.send');
    expect(email).toBeDefined();
    // While it waits (a slow CRM ahead of it, say), the person unsubscribes.
    driver.offer({ type: 'consent.unsubscribed', doNotContact: false, at: T0 + 1 });
    const call = effectCall(email as NonNullable<typeof email>, driver.snapshot, 'lead-q');
    expect(call).toMatchObject({ activity: 'sendContent', input: { consent: { state: 'withdrawn' } } });
  });
});
