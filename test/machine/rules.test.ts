import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS } from '../../src/machines/index.js';
import {
  BANT_COMPLETE,
  capturedLead,
  FIT,
  mqlLead,
  opportunityLead,
  sqlLead,
  testLead,
} from '../support/lead.js';

/** One test per rule of docs/domain.md ("Where the rules are exercised"), named after the rule. */

describe('lifecycle stages', () => {
  it('a first touch makes a visitor, who is anonymous and gets no content', () => {
    const lead = testLead();
    lead.send({ type: 'visit', channel: 'trade_show' });
    expect(lead.stage).toBe('visitor');
    expect(lead.send({ type: 'tick.nurture' })?.message).toBe('tick.nurture is not allowed in stage visitor');
  });

  it('a visitor who gives contact details in a form becomes a lead', () => {
    const lead = testLead();
    lead.send({ type: 'form.submitted', form: 'webinar', consent: false, profile: { email: 'x@y.example' } });
    expect(lead.stage).toBe('lead');
    expect(lead.context.profile.email).toBe('x@y.example');
  });

  it('not every suspect becomes a lead: a competitor is disqualified', () => {
    const lead = testLead();
    lead.send({ type: 'disqualify', reason: 'competitor' });
    expect(lead.stage).toBe('disqualified');
    expect(lead.context.closed).toMatchObject({ reason: 'competitor' });
  });

  it('a lead whose engagement score reaches the threshold and fits a persona becomes an MQL', () => {
    const lead = mqlLead();
    expect(lead.stage).toBe('mql');
    expect(lead.context.score).toBeGreaterThanOrEqual(50);
    expect(lead.context.fit.persona).toBe('it-decision-maker');
  });

  it('a lead over the threshold that fits no buyer persona stays a lead', () => {
    const lead = testLead();
    lead.send({
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: { email: 's@uni.example', jobFunction: 'student' },
    });
    lead.send({ type: 'engagement', kind: 'demo_request' });
    lead.send({ type: 'engagement', kind: 'webinar_attended' });
    expect(lead.context.score).toBeGreaterThanOrEqual(50);
    expect(lead.stage).toBe('lead');
  });

  it('a persona-fit lead under the threshold stays a lead', () => {
    const lead = capturedLead();
    lead.send({ type: 'engagement', kind: 'email_open' });
    expect(lead.context.fit.score).toBe(100);
    expect(lead.stage).toBe('lead');
  });

  it('an MQL with budget unknown stays MQL and cold', () => {
    const lead = mqlLead();
    lead.send({ type: 'bant.updated', bant: { authority: true, need: true, timelineMonths: 2 } });
    const rejection = lead.send({ type: 'sales.accepted', owner: 'rep-7' });
    expect(lead.stage).toBe('mql');
    expect(lead.context.temperature).toBe('cold');
    expect(rejection).toMatchObject({ code: 'guard_failed', stage: 'mql', guard: 'bantComplete' });
    expect(rejection?.message).toBe('sql needs BANT complete: budget missing');
  });

  it('BANT validated and sales taking the lead make an SQL owned by sales', () => {
    const lead = sqlLead();
    expect(lead.stage).toBe('sql');
    expect(lead.context.sales.owner).toBe('rep-7');
    expect(lead.context.temperature).toBe('hot');
  });

  it('a commercial proposal makes an SQL an opportunity', () => {
    const lead = opportunityLead();
    expect(lead.stage).toBe('opportunity');
    expect(lead.context.deal.amount).toBe(24_000);
  });

  it('a purchase makes a customer', () => {
    const lead = opportunityLead();
    lead.send({ type: 'deal.won', amount: 25_000 });
    expect(lead.stage).toBe('customer');
  });

  it('the funnel cannot be skipped: a lead cannot receive a proposal', () => {
    const lead = capturedLead();
    expect(lead.send({ type: 'proposal.sent' })).toMatchObject({
      code: 'not_allowed_in_stage',
      stage: 'lead',
      guard: null,
    });
  });
});

describe('re-nurture, recycle and loss', () => {
  it('a deal lost for timing goes to re-nurture, not lost', () => {
    const lead = opportunityLead();
    lead.send({ type: 'deal.lost', reason: 'timing' });
    expect(lead.stage).toBe('recycled');
    expect(lead.context.recycle).toMatchObject({ reason: 'timing', since: lead.now });
  });

  it.each(['budget', 'competitor', 'no_need'] as const)(
    'a deal lost for %s is lost, not re-nurtured',
    (reason) => {
      const lead = opportunityLead();
      lead.send({ type: 'deal.lost', reason });
      expect(lead.stage).toBe('lost');
      expect(lead.context.closed).toMatchObject({ reason });
    },
  );

  it('a sales rejection sends an MQL back to nurture with its reason', () => {
    const lead = mqlLead();
    lead.send({ type: 'sales.rejected', reason: 'not_ready' });
    expect(lead.stage).toBe('recycled');
    expect(lead.context.recycle?.reason).toBe('not_ready');
  });

  it('a recycled lead cannot requalify before the re-nurture cooldown is over', () => {
    const lead = opportunityLead();
    lead.send({ type: 'deal.lost', reason: 'timing' });
    lead.advanceDays(30);
    const rejection = lead.send({ type: 'cooldown.over' });
    expect(rejection).toMatchObject({ guard: 'cooldownElapsed' });
    expect(rejection?.message).toMatch(/^lead needs the re-nurture cooldown over: it runs until /);
    expect(lead.stage).toBe('recycled');
  });

  it('re-nurture starts afresh: old engagement does not requalify a recycled lead by itself', () => {
    const lead = opportunityLead();
    lead.send({ type: 'deal.lost', reason: 'timing' });
    lead.advanceDays(90);
    lead.send({ type: 'cooldown.over' });
    expect(lead.stage).toBe('lead');
    expect(lead.context.score).toBe(0);
  });

  it('after the cooldown, a recycled lead can qualify again', () => {
    const lead = opportunityLead();
    lead.send({ type: 'deal.lost', reason: 'timing' });
    lead.advanceDays(90);
    lead.send({ type: 'cooldown.over' });
    lead.send({ type: 'engagement', kind: 'demo_request' });
    lead.send({ type: 'engagement', kind: 'quote_request' });
    expect(lead.stage).toBe('mql');
  });
});

describe('temperature and buying stage', () => {
  it('hot means need, budget, decision maker and a short-term deadline', () => {
    const lead = capturedLead();
    lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
    expect(lead.context.temperature).toBe('hot');
  });

  it('a need with a far-off timeline is cold: medium or long-term intent', () => {
    const lead = capturedLead();
    lead.send({ type: 'bant.updated', bant: { ...BANT_COMPLETE, timelineMonths: 18 } });
    expect(lead.context.temperature).toBe('cold');
  });

  it('no need identified is awareness, a need without BANT is consideration, BANT validated is decision', () => {
    const lead = testLead();
    lead.send({ type: 'form.submitted', form: 'newsletter', consent: true, profile: FIT });
    expect(lead.context.buyingStage).toBe('awareness');
    lead.send({ type: 'bant.updated', bant: { need: true } });
    expect(lead.context.buyingStage).toBe('consideration');
    lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
    expect(lead.context.buyingStage).toBe('decision');
  });

  it("the lead's own behaviour shows its buying stage: evaluation content means consideration", () => {
    const lead = testLead();
    lead.send({ type: 'form.submitted', form: 'newsletter', consent: true, profile: FIT });
    lead.send({ type: 'engagement', kind: 'content_download', contentStage: 'consideration' });
    expect(lead.context.buyingStage).toBe('consideration');
  });
});

describe('scoring', () => {
  it('the fit score counts company size, revenue, sector and job function against buyer personas', () => {
    const lead = testLead({
      personas: [
        {
          id: 'cfo',
          name: 'CFO of a large company',
          companySize: { min: 1000 },
          annualRevenue: { min: 1e8 },
          sectors: ['finance'],
          jobFunctions: ['finance'],
        },
      ],
    });
    lead.send({ type: 'profile.updated', profile: { companySize: 5000, sector: 'Finance' } });
    expect(lead.context.fit).toEqual({ persona: 'cfo', score: 50 });
    lead.send({ type: 'profile.updated', profile: { annualRevenue: 2e8, jobFunction: 'finance' } });
    expect(lead.context.fit).toEqual({ persona: 'cfo', score: 100 });
  });

  it('behaviour scores decay with inactivity: half the points after one half-life', () => {
    const lead = capturedLead({ decayHalfLifeDays: 30 });
    lead.send({ type: 'engagement', kind: 'demo_request' });
    const before = lead.context.engagement.points;
    lead.advanceDays(30);
    lead.send({ type: 'tick.decay' });
    expect(lead.context.engagement.points).toBeCloseTo(before / 2, 6);
  });

  it('the score is refreshed on a fixed grid: engagement between two ticks does not move the next tick', () => {
    const lead = capturedLead({ decayTickDays: 7 });
    const decayAt = () =>
      lead.cycle.deadlines(lead.cycle.stateOf(lead.snapshot)).find((d) => d.event === 'tick.decay')?.at;
    const created = lead.context.createdAt;
    expect(decayAt()).toBe(created + 7 * DAY_MS);
    lead.advanceDays(3).send({ type: 'engagement', kind: 'email_click' });
    expect(decayAt()).toBe(created + 7 * DAY_MS);
    lead.runTimersUntil(created + 7 * DAY_MS);
    expect(decayAt()).toBe(created + 14 * DAY_MS);
    // Runs recorded before the grid keep their rule: a tick one period after the last engagement.
    const old = lead.cycle.deadlines(lead.cycle.stateOf(lead.snapshot), { decayGrid: false });
    expect(old.find((d) => d.event === 'tick.decay')?.at).toBe(lead.context.engagement.asOf + 7 * DAY_MS);
  });

  it('negative points lower the score: a job seeker on the careers page', () => {
    const lead = capturedLead();
    const before = lead.context.score;
    lead.send({ type: 'engagement', kind: 'careers_page' });
    expect(lead.context.score).toBe(before - 10);
  });
});

describe('nurturing', () => {
  it('content matches the buying stage: discovery for awareness, evaluation for consideration, decision for decision', () => {
    const lead = capturedLead();
    lead.send({ type: 'tick.nurture' });
    lead.advanceDays(7).send({ type: 'bant.updated', bant: { need: true } });
    lead.send({ type: 'tick.nurture' });
    lead.advanceDays(7).send({ type: 'bant.updated', bant: BANT_COMPLETE });
    lead.send({ type: 'tick.nurture' });
    expect(lead.sent().map((e) => [e.buyingStage, e.family])).toEqual([
      ['awareness', 'discovery'],
      ['consideration', 'evaluation'],
      ['decision', 'decision'],
    ]);
  });

  it("don't harass: no more than 3 marketing emails in any 30 days, the 4th is deferred", () => {
    const lead = capturedLead({ nurtureCadenceDays: 2 });
    const first = lead.now;
    lead.runTimersUntil(lead.now + 10 * DAY_MS);
    expect(lead.sent().map((e) => (e.at - first) / DAY_MS)).toEqual([0, 2, 4]);
    expect(lead.send({ type: 'tick.nurture' })?.message).toMatch(
      /email cap reached: 3 of 3 emails in the last 30 days/,
    );
    expect(
      lead.cycle.deadlines(lead.cycle.stateOf(lead.snapshot)).find((d) => d.event === 'tick.nurture'),
    ).toEqual({
      event: 'tick.nurture',
      at: first + 30 * DAY_MS,
      deferredByCap: true,
    });
  });

  it('customers keep receiving only the newsletter', () => {
    const lead = opportunityLead();
    lead.send({ type: 'deal.won' });
    lead.runTimersUntil(lead.now + 95 * DAY_MS);
    expect(lead.sent().length).toBeGreaterThan(0);
    expect(
      lead
        .sent()
        .filter((e) => e.at > lead.context.stageEnteredAt)
        .every((e) => e.kind === 'newsletter'),
    ).toBe(true);
  });

  it('marketing owns the lead until SQL: an SQL or opportunity gets no nurture (only a newsletter it subscribed to)', () => {
    const lead = sqlLead();
    expect(lead.send({ type: 'tick.nurture' })).toMatchObject({ code: 'guard_failed', stage: 'sql' });
    lead.send({ type: 'proposal.sent' });
    expect(lead.send({ type: 'tick.nurture' })).toMatchObject({ code: 'guard_failed', stage: 'opportunity' });
    expect(
      lead.effects.filter((e) => e.type === 'content.send' && e.at > lead.context.stageEnteredAt),
    ).toEqual([]);
  });

  it('a disqualified or lost lead gets no content', () => {
    const disqualified = capturedLead();
    disqualified.send({ type: 'disqualify', reason: 'spam' });
    expect(disqualified.send({ type: 'tick.nurture' })?.code).toBe('not_allowed_in_stage');
    const lost = opportunityLead();
    lost.send({ type: 'deal.lost', reason: 'budget' });
    expect(lost.cycle.nextDeadline(lost.cycle.stateOf(lost.snapshot))?.event).not.toBe('tick.nurture');
  });
});

describe('consent', () => {
  it('no marketing content without an explicit opt-in', () => {
    const lead = testLead();
    lead.send({ type: 'form.submitted', form: 'info_request', consent: false, profile: FIT });
    expect(lead.send({ type: 'tick.nurture' })?.message).toMatch(
      /^tick\.nurture refused in lead: no marketing consent given yet; not subscribed to the newsletter \(engagement score \d+ of 50/,
    );
  });

  it('an unsubscribed lead never gets marketing content, whatever its stage', () => {
    const lead = capturedLead();
    lead.send({ type: 'consent.unsubscribed', doNotContact: false });
    lead.runTimersUntil(lead.now + 200 * DAY_MS);
    expect(lead.sent()).toEqual([]);
    expect(lead.send({ type: 'tick.nurture' })).toMatchObject({ guard: 'consentGiven' });
  });

  it('a resubscribe is explicit: a form opt-in does not lift an unsubscribe', () => {
    const lead = capturedLead();
    lead.send({ type: 'consent.unsubscribed', doNotContact: true });
    lead.send({ type: 'form.submitted', form: 'content_download', consent: true, profile: FIT });
    expect(lead.consent).toBe('withdrawn');
    lead.send({ type: 'consent.subscribed' });
    expect(lead.consent).toBe('granted');
    expect(lead.context.consent.doNotContact).toBe(false);
  });

  it('an unsubscribe is never refused, even twice', () => {
    const lead = capturedLead();
    expect(lead.send({ type: 'consent.unsubscribed', doNotContact: false })).toBeNull();
    expect(lead.send({ type: 'consent.unsubscribed', doNotContact: true })).toBeNull();
    expect(lead.context.consent.doNotContact).toBe(true);
  });
});

describe('do-not-contact and the proof of consent', () => {
  it('do-not-contact means no contact: a DNC lead never becomes an MQL, so sales never gets it', () => {
    const lead = capturedLead();
    lead.send({ type: 'consent.unsubscribed', doNotContact: true });
    lead.send({ type: 'engagement', kind: 'demo_request' });
    lead.send({ type: 'engagement', kind: 'webinar_attended' });
    lead.send({ type: 'engagement', kind: 'pricing_page' });
    expect(lead.stage).toBe('lead');
    expect(lead.effects.filter((e) => e.type === 'sales.handoff')).toEqual([]);
  });

  it('a DNC MQL is not escalated when the SLA runs out, and goes back to nurture', () => {
    const lead = mqlLead({ salesSlaHours: 24 });
    lead.send({ type: 'consent.unsubscribed', doNotContact: true });
    lead.runTimersUntil(lead.now + 25 * HOUR_MS);
    expect(lead.effects.filter((e) => e.type === 'sales.handoff').map((e) => e.escalation)).toEqual([false]);
    expect(lead.stage).toBe('recycled');
  });

  it('sales cannot accept a DNC lead, and the refusal says why', () => {
    const lead = mqlLead();
    lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
    lead.send({ type: 'consent.unsubscribed', doNotContact: true });
    const refusal = lead.send({ type: 'sales.accepted', owner: 'rep-7' });
    expect(refusal).toMatchObject({ code: 'guard_failed', guard: 'contactAllowed' });
    expect(refusal?.message).toMatch(/do-not-contact/);
    expect(lead.stage).toBe('mql');
  });

  it('the CRM is told once that the person is do-not-contact', () => {
    const lead = mqlLead();
    lead.send({ type: 'consent.unsubscribed', doNotContact: true });
    lead.send({ type: 'consent.unsubscribed', doNotContact: true });
    expect(lead.effects.filter((e) => e.type === 'sales.do_not_contact')).toHaveLength(1);
  });

  it('a plain unsubscribe stops marketing email only: sales may still accept the lead', () => {
    const lead = mqlLead();
    lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
    lead.send({ type: 'consent.unsubscribed', doNotContact: false });
    expect(lead.send({ type: 'sales.accepted', owner: 'rep-7' })).toBeNull();
    expect(lead.stage).toBe('sql');
    expect(lead.effects.filter((e) => e.type === 'sales.do_not_contact')).toEqual([]);
  });

  it('every consent change is recorded with its source and time: the proof of consent', () => {
    const lead = testLead();
    lead.send({ type: 'form.submitted', form: 'content_download', consent: true, profile: FIT });
    lead.advanceDays(3);
    lead.send({ type: 'consent.unsubscribed', doNotContact: true, source: 'link' });
    lead.advanceDays(3);
    lead.send({ type: 'consent.subscribed' });
    const changes = lead.effects.filter((e) => e.type === 'consent.changed');
    expect(changes.map(({ consent, doNotContact, source }) => ({ consent, doNotContact, source }))).toEqual([
      { consent: 'granted', doNotContact: false, source: 'form' },
      { consent: 'withdrawn', doNotContact: true, source: 'link' },
      { consent: 'granted', doNotContact: false, source: 'api' },
    ]);
    expect(changes.map((c) => c.at)).toEqual([lead.now - 6 * DAY_MS, lead.now - 3 * DAY_MS, lead.now]);
  });
});

describe('sales handoff and SLA', () => {
  it('an MQL is handed to sales with an SLA deadline', () => {
    const lead = mqlLead({ salesSlaHours: 24 });
    const handoff = lead.effects.find((e) => e.type === 'sales.handoff');
    expect(handoff).toMatchObject({
      escalation: false,
      slaDeadline: lead.context.stageEnteredAt + 24 * HOUR_MS,
    });
  });

  it('an SLA that expires escalates once, then returns the lead to nurture with a reason', () => {
    const lead = mqlLead({ salesSlaHours: 24 });
    lead.runTimersUntil(lead.now + 25 * HOUR_MS);
    expect(lead.stage).toBe('mql');
    expect(lead.effects.filter((e) => e.type === 'sales.handoff').map((e) => e.escalation)).toEqual([
      false,
      true,
    ]);
    lead.runTimersUntil(lead.now + 24 * HOUR_MS);
    expect(lead.stage).toBe('recycled');
    expect(lead.context.recycle?.reason).toBe('sales_sla_expired');
  });

  it('hot prospects are handled first: the handoff tells sales the lead is hot', () => {
    const lead = capturedLead();
    lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
    lead.send({ type: 'engagement', kind: 'demo_request' });
    lead.send({ type: 'engagement', kind: 'webinar_attended' });
    expect(lead.effects.find((e) => e.type === 'sales.handoff')).toMatchObject({ temperature: 'hot' });
  });

  it('an SLA timer that fires early is refused', () => {
    const lead = mqlLead();
    expect(lead.send({ type: 'sla.expired' })?.message).toMatch(
      /^recycled needs the sales SLA expired: it runs until /,
    );
  });
});

describe('duplicates', () => {
  const twinFacts = (overrides: object = {}) => ({
    profile: { email: 'ada.work@acme.example', jobTitle: 'CTO', companySize: 9999 },
    bant: { budget: true, authority: null, need: true, timelineMonths: null },
    engagementPoints: 40,
    furthestContentStage: 'consideration' as const,
    consent: 'granted' as const,
    doNotContact: false,
    sentIds: ['discovery-1', 'discovery-2'],
    sentAt: [],
    ...overrides,
  });

  it("merging two leads keeps both histories' facts: the survivor's win, the other fills the gaps", () => {
    const lead = capturedLead();
    lead.send({ type: 'bant.updated', bant: { budget: false } });
    lead.send({ type: 'lead.absorbed', from: 'test:ada.work@acme.example', facts: twinFacts() });
    expect(lead.context.profile).toMatchObject({
      email: FIT.email,
      companySize: FIT.companySize,
      jobTitle: 'CTO',
    });
    expect(lead.context.bant).toMatchObject({ budget: false, need: true });
    expect(lead.context.score).toBe(5 + 40);
    expect(lead.context.nurture.sentIds).toEqual(expect.arrayContaining(['discovery-1', 'discovery-2']));
    expect(lead.context.absorbed).toEqual(['test:ada.work@acme.example']);
  });

  it('merged engagement can qualify the survivor', () => {
    const lead = capturedLead();
    lead.send({
      type: 'lead.absorbed',
      from: 'test:other@acme.example',
      facts: twinFacts({ engagementPoints: 50 }),
    });
    expect(lead.stage).toBe('mql');
  });

  it('a merge happens once: the same record cannot be absorbed twice', () => {
    const lead = capturedLead();
    lead.send({
      type: 'lead.absorbed',
      from: 'test:other@acme.example',
      facts: twinFacts({ engagementPoints: 10 }),
    });
    const again = lead.send({ type: 'lead.absorbed', from: 'test:other@acme.example', facts: twinFacts() });
    expect(again).toMatchObject({ code: 'guard_failed', guard: 'notYetAbsorbed' });
    expect(lead.context.score).toBe(15);
  });

  it('an unsubscribe on either record survives the merge', () => {
    const lead = capturedLead();
    lead.send({
      type: 'lead.absorbed',
      from: 'test:other@acme.example',
      facts: twinFacts({ consent: 'withdrawn', doNotContact: true }),
    });
    expect(lead.consent).toBe('withdrawn');
    expect(lead.context.consent.doNotContact).toBe(true);
  });

  it('the absorbed record closes as merged and gets nothing more', () => {
    const lead = capturedLead();
    lead.send({ type: 'lead.merged', into: 'test:survivor@acme.example' });
    expect(lead.stage).toBe('merged');
    expect(lead.context.mergedInto).toBe('test:survivor@acme.example');
    expect(lead.send({ type: 'tick.nurture' })?.code).toBe('not_allowed_in_stage');
    expect(lead.cycle.deadlines(lead.cycle.stateOf(lead.snapshot))).toEqual([]);
    expect(lead.send({ type: 'lead.absorbed', from: 'test:x@acme.example', facts: twinFacts() })?.guard).toBe(
      'isOpen',
    );
  });

  it('sales-owned leads are merged in the CRM first: an SQL refuses to close as merged', () => {
    const lead = sqlLead();
    expect(lead.send({ type: 'lead.merged', into: 'test:survivor@acme.example' })).toMatchObject({
      code: 'not_allowed_in_stage',
      stage: 'sql',
    });
  });
});

describe('records and rejections', () => {
  it('every stage change is recorded with its cause and reason', () => {
    const lead = opportunityLead();
    lead.send({ type: 'deal.lost', reason: 'timing' });
    const changes = lead.effects
      .filter((e) => e.type === 'stage.changed')
      .map((e) => [e.from, e.to, e.cause, e.reason]);
    expect(changes).toEqual([
      [null, 'visitor', 'xstate.init', null],
      ['visitor', 'lead', 'form.submitted', null],
      ['lead', 'mql', 'engagement', 'hand_raiser:demo_request'],
      ['mql', 'sql', 'sales.accepted', null],
      ['sql', 'opportunity', 'proposal.sent', null],
      ['opportunity', 'recycled', 'deal.lost', 'timing'],
    ]);
  });

  it('a command that is illegal in the current stage is rejected, naming the stage, and changes nothing', () => {
    const lead = capturedLead();
    const before = lead.snapshot;
    const rejection = lead.send({ type: 'deal.won' });
    expect(rejection).toEqual({
      code: 'not_allowed_in_stage',
      stage: 'lead',
      consent: 'granted',
      event: 'deal.won',
      guard: null,
      message: expect.stringMatching(/^deal\.won is not allowed in stage lead \(engagement score /),
    });
    expect(lead.snapshot).toBe(before);
  });

  it('bant.updated from an anonymous visitor is refused: BANT needs an identified lead', () => {
    const lead = testLead();
    expect(lead.send({ type: 'bant.updated', bant: { need: true } })?.code).toBe('not_allowed_in_stage');
  });
});
