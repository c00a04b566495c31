import { describe, expect, it } from 'vitest';
import {
  createLeadCycle,
  DAY_MS,
  type Effect,
  LATEST_RULES,
  type LeadEvent,
} from '../../src/machines/index.js';
import { BANT_COMPLETE, capturedLead, FIT, mqlLead, T0, testLead } from '../support/lead.js';

/** Sales decides (issue #14): one test per rule, named after it, through the pure machine. */

/** The persona-fit CIO of a 2,000-person company of the issue. */
const CIO = { ...FIT, email: 'cio@big.example', companySize: 2000, jobTitle: 'CIO' };
const stageChanges = (effects: Effect[]) =>
  effects.filter((e): e is Extract<Effect, { type: 'stage.changed' }> => e.type === 'stage.changed');
const handoffs = (effects: Effect[]) => effects.filter((e) => e.type === 'sales.handoff');

/** A lead sales lost for budget, `days` ago by the lead's clock. */
function lostLead() {
  const lead = mqlLead();
  lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
  lead.send({ type: 'sales.accepted', owner: 'rep-7' });
  lead.send({ type: 'proposal.sent', amount: 24_000 });
  lead.send({ type: 'deal.lost', reason: 'budget' });
  expect(lead.stage).toBe('lost');
  return lead;
}

describe('hand-raisers go to sales', () => {
  it('a persona-fit CIO who submits the demo form is an MQL and handed off at once, at score 30', () => {
    const lead = testLead();
    lead.send({ type: 'form.submitted', form: 'demo_request', consent: true, profile: CIO });
    expect(lead.stage).toBe('mql');
    expect(lead.context.score).toBe(30);
    expect(stageChanges(lead.effects).map((c) => [c.from, c.to, c.reason])).toEqual([
      [null, 'visitor', null],
      ['visitor', 'lead', null],
      ['lead', 'mql', 'hand_raiser:demo_request'],
    ]);
    expect(handoffs(lead.effects)).toEqual([expect.objectContaining({ score: 30, escalation: false })]);
  });

  it('a hand-raiser from a free-mail address is not fast-tracked: the profile rules hold it back', () => {
    const lead = testLead();
    lead.send({
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: { ...CIO, email: 'cio@gmail.com' },
    });
    expect(lead.stage).toBe('lead');
    expect(handoffs(lead.effects)).toEqual([]);
  });

  it('a quote request and the contact-sales form are hand-raisers too, from a lead', () => {
    for (const form of ['quote_request', 'contact'] as const) {
      const lead = capturedLead();
      expect(lead.stage).toBe('lead');
      lead.send({ type: 'form.submitted', form, consent: true, profile: FIT });
      expect(lead.stage).toBe('mql');
      expect(stageChanges(lead.effects).at(-1)?.reason).toBe(`hand_raiser:${form}`);
    }
  });

  it('a demo request reported as an engagement raises a hand too', () => {
    const lead = capturedLead();
    lead.send({ type: 'engagement', kind: 'demo_request' });
    expect(lead.stage).toBe('mql');
    expect(stageChanges(lead.effects).at(-1)).toMatchObject({
      cause: 'engagement',
      reason: 'hand_raiser:demo_request',
    });
  });

  it('a recycled lead that asks for a demo goes back to sales before its cooldown ends', () => {
    const lead = mqlLead();
    lead.send({ type: 'sales.rejected', reason: 'not_ready' });
    expect(lead.stage).toBe('recycled');
    lead.advanceDays(10);
    lead.send({ type: 'form.submitted', form: 'demo_request', consent: true, profile: FIT });
    expect(lead.stage).toBe('mql');
    expect(stageChanges(lead.effects).at(-1)).toMatchObject({
      from: 'recycled',
      reason: 'hand_raiser:demo_request',
    });
    expect(lead.context.recycle).toBeNull();
  });

  it('a hand-raiser that fits no persona stays a lead and is not handed off', () => {
    const lead = testLead();
    lead.send({
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: { email: 's@uni.example', jobFunction: 'student' },
    });
    expect(lead.stage).toBe('lead');
    expect(handoffs(lead.effects)).toEqual([]);
  });

  it('a do-not-contact hand-raiser is never handed off', () => {
    const lead = capturedLead();
    lead.send({ type: 'consent.unsubscribed', doNotContact: true });
    lead.send({ type: 'form.submitted', form: 'demo_request', consent: true, profile: FIT });
    expect(lead.stage).toBe('lead');
    expect(handoffs(lead.effects)).toEqual([]);
  });

  it('the hand-raiser kinds are config: without them a demo request only scores', () => {
    const lead = testLead({ handRaisers: [] });
    lead.send({ type: 'form.submitted', form: 'demo_request', consent: true, profile: CIO });
    expect(lead.stage).toBe('lead');
    expect(lead.context.score).toBe(30);
  });

  it('runs recorded before sales decides replay as they ran: the demo form leaves a lead', () => {
    const cycle = createLeadCycle({}, { ...LATEST_RULES, salesDecides: false });
    const { snapshot } = cycle.start({ leadKey: 'old', at: T0 });
    const d = cycle.apply(snapshot, {
      type: 'form.submitted',
      at: T0,
      form: 'demo_request',
      consent: true,
      profile: CIO,
    } as LeadEvent);
    expect(d.ok && d.snapshot.value.lifecycle).toBe('lead');
  });
});

describe('sales decides', () => {
  it('sales accepting a BANT-complete lead before MQL is a sales override, recorded as such', () => {
    const lead = capturedLead();
    lead.send({ type: 'engagement', kind: 'webinar_attended' });
    lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
    expect(lead.stage).toBe('lead');
    expect(lead.send({ type: 'sales.accepted', owner: 'rep-7' })).toBeNull();
    expect(lead.stage).toBe('sql');
    expect(lead.context.sales.owner).toBe('rep-7');
    expect(stageChanges(lead.effects).at(-1)).toMatchObject({
      from: 'lead',
      to: 'sql',
      cause: 'sales.accepted',
      reason: 'sales_override',
    });
  });

  it('sales accepting a BANT-complete recycled lead is a sales override', () => {
    const lead = mqlLead();
    lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
    lead.send({ type: 'sales.rejected', reason: 'bad_timing' });
    expect(lead.stage).toBe('recycled');
    lead.advanceDays(20);
    expect(lead.send({ type: 'sales.accepted', owner: 'rep-8' })).toBeNull();
    expect(lead.stage).toBe('sql');
    expect(stageChanges(lead.effects).at(-1)).toMatchObject({ from: 'recycled', reason: 'sales_override' });
  });

  it('a do-not-contact lead is never accepted, not even as a sales override', () => {
    const lead = capturedLead();
    lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
    lead.send({ type: 'consent.unsubscribed', doNotContact: true });
    expect(lead.send({ type: 'sales.accepted', owner: 'rep-7' })).toMatchObject({
      code: 'guard_failed',
      guard: 'contactAllowed',
    });
    expect(lead.stage).toBe('lead');
  });

  it('a refusal names the failing guard and its numbers: score 48 of 50', () => {
    const lead = capturedLead({ points: { webinar_attended: 43 } });
    lead.send({ type: 'engagement', kind: 'webinar_attended' });
    lead.send({ type: 'bant.updated', bant: { budget: true, authority: true, need: true } });
    expect(lead.context.score).toBe(48);
    const refused = lead.send({ type: 'sales.accepted', owner: 'rep-7' });
    expect(refused).toMatchObject({ code: 'guard_failed', stage: 'lead', guard: 'bantComplete' });
    expect(refused?.message).toBe(
      'sql needs BANT complete: timeline missing (engagement score 48 of 50 and persona fit 100% of 75% for MQL)',
    );
  });

  it('a refusal in recycled says when the cooldown ends', () => {
    const lead = mqlLead();
    lead.send({ type: 'sales.rejected', reason: 'not_ready' });
    const ends = new Date(lead.now + 90 * DAY_MS).toISOString();
    expect(lead.send({ type: 'sales.accepted', owner: 'rep-7' })?.message).toBe(
      `sql needs BANT complete: budget, authority, need and timeline missing (re-nurture cooldown ends ${ends})`,
    );
    expect(lead.send({ type: 'proposal.sent' })?.message).toBe(
      `proposal.sent is not allowed in stage recycled (re-nurture cooldown ends ${ends})`,
    );
  });

  it('an event not allowed in its stage says the numbers that stage waits for', () => {
    const lead = capturedLead();
    expect(lead.send({ type: 'deal.won' })).toMatchObject({
      code: 'not_allowed_in_stage',
      message:
        'deal.won is not allowed in stage lead (engagement score 5 of 50 and persona fit 100% of 75% for MQL)',
    });
    const mql = mqlLead();
    const deadline = new Date(mql.now + 48 * 3_600_000).toISOString();
    expect(mql.send({ type: 'proposal.sent' })?.message).toBe(
      `proposal.sent is not allowed in stage mql (handed to sales, who must accept by ${deadline})`,
    );
    // A failed guard in mql already says what sales needs.
    mql.send({ type: 'bant.updated', bant: { authority: true, need: true, timelineMonths: 2 } });
    expect(mql.send({ type: 'sales.accepted', owner: 'rep-7' })?.message).toBe(
      'sql needs BANT complete: budget missing',
    );
  });
});

describe('lost can come back', () => {
  it('a lost lead that asks for a demo after the quiet period comes back, straight to MQL', () => {
    const lead = lostLead();
    lead.advanceDays(181);
    lead.send({ type: 'form.submitted', form: 'demo_request', consent: true, profile: FIT });
    expect(lead.stage).toBe('mql');
    expect(
      stageChanges(lead.effects)
        .slice(-2)
        .map((c) => [c.from, c.to, c.reason]),
    ).toEqual([
      ['lost', 'lead', 'came_back'],
      ['lead', 'mql', 'hand_raiser:demo_request'],
    ]);
    expect(lead.context.closed).toBeNull();
    expect(lead.context.sales.owner).toBeNull();
    expect(handoffs(lead.effects).at(-1)).toMatchObject({ escalation: false });
  });

  it('a lost lead whose engagement reaches the MQL threshold after the quiet period re-enters nurture', () => {
    const lead = lostLead();
    lead.advanceDays(200);
    lead.send({ type: 'profile.updated', profile: { jobFunction: 'student' } }); // no persona: no MQL
    lead.send({ type: 'engagement', kind: 'webinar_attended' });
    lead.send({ type: 'engagement', kind: 'premium_content' });
    expect(lead.stage).toBe('lost');
    lead.send({ type: 'engagement', kind: 'webinar_attended' });
    lead.send({ type: 'engagement', kind: 'webinar_attended' });
    expect(lead.context.score).toBeGreaterThanOrEqual(50);
    expect(lead.stage).toBe('lead');
    expect(stageChanges(lead.effects).at(-1)).toMatchObject({
      from: 'lost',
      to: 'lead',
      reason: 'came_back',
    });
  });

  it('before the quiet period a lost lead stays lost, and a refusal says when it ends', () => {
    const lead = lostLead();
    const ends = new Date(lead.now + 180 * DAY_MS).toISOString();
    lead.advanceDays(179);
    expect(
      lead.send({ type: 'form.submitted', form: 'demo_request', consent: true, profile: FIT }),
    ).toBeNull();
    expect(lead.stage).toBe('lost');
    expect(lead.send({ type: 'sales.accepted', owner: 'rep-7' })?.message).toBe(
      `sales.accepted is not allowed in stage lost (its quiet period after the loss ends ${ends}: ` +
        'then a hand-raiser, or engagement up to score 50, brings it back)',
    );
  });

  it('the quiet period is config (lostReturnAfterDays)', () => {
    const lead = testLead({ lostReturnAfterDays: 30 });
    lead.send({ type: 'form.submitted', form: 'content_download', consent: true, profile: FIT });
    lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
    lead.send({ type: 'sales.accepted', owner: 'rep-7' });
    lead.send({ type: 'proposal.sent' });
    lead.send({ type: 'deal.lost', reason: 'competitor' });
    lead.advanceDays(31);
    lead.send({ type: 'engagement', kind: 'quote_request' });
    expect(lead.stage).toBe('mql');
  });

  it('a timer is no buying signal: a lost lead does not come back by itself', () => {
    const lead = lostLead();
    lead.advanceDays(365);
    lead.send({ type: 'tick.decay' });
    expect(lead.stage).toBe('lost');
  });
});
