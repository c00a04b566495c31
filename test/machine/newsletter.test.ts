import { describe, expect, it } from 'vitest';
import {
  createLeadCycle,
  DAY_MS,
  type Effect,
  LATEST_RULES,
  type LeadcycleConfigInput,
  LeadDriver,
} from '../../src/machines/index.js';
import { BANT_COMPLETE, capturedLead, FIT, opportunityLead, T0, testLead } from '../support/lead.js';

/** One test per rule of the newsletter subscription (patch `newsletter-subscription`), named after it. */

type Send = Extract<Effect, { type: 'content.send' }>;
const item = (family: string, n: number) => ({
  id: `${family}-${n}`,
  title: `${family} ${n}`,
  url: `https://example.com/${family}/${n}`,
});
const items = (family: string, count: number) => Array.from({ length: count }, (_, i) => item(family, i + 1));
const catalog = (sizes: { discovery?: number; newsletter?: number }) => ({
  discovery: items('discovery', sizes.discovery ?? 6),
  evaluation: items('evaluation', 6),
  decision: items('decision', 4),
  newsletter: items('newsletter', sizes.newsletter ?? 24),
});

const newsletters = (sent: Send[]) => sent.filter((e) => e.kind === 'newsletter');
/** The most emails any rolling window of the cap held. */
const busiestWindow = (sent: Send[], windowDays = 30) =>
  Math.max(
    0,
    ...sent.map((e) => sent.filter((o) => o.at <= e.at && o.at > e.at - windowDays * DAY_MS).length),
  );

function subscriber(config: LeadcycleConfigInput = {}) {
  const lead = testLead(config);
  lead.send({ type: 'form.submitted', form: 'newsletter', consent: true, profile: FIT });
  return lead;
}

describe('the newsletter is a subscription', () => {
  it('a newsletter form subscribes the lead', () => {
    const lead = subscriber();
    expect(lead.stage).toBe('lead');
    expect(lead.context.newsletter).toEqual({ subscribedAt: T0, lastSentAt: null });
  });

  it('a consenting subscriber gets the newsletter on its cadence, for a year', () => {
    const lead = subscriber();
    lead.runTimersUntil(T0 + 365 * DAY_MS);
    const issues = newsletters(lead.sent());
    expect(issues.length).toBe(13); // days 0, 30, ... 360
    expect(issues.map((e) => e.item.id)).toEqual(items('newsletter', 13).map((i) => i.id));
    for (const [i, e] of issues.entries())
      if (i > 0) expect(e.at - (issues[i - 1]?.at ?? 0)).toBe(30 * DAY_MS);
  });

  it('newsletter and nurture share one email cap, and the newsletter goes first when both are due', () => {
    const lead = subscriber({ nurtureCadenceDays: 2, content: catalog({ discovery: 40 }) });
    lead.runTimersUntil(T0 + 365 * DAY_MS);
    const sent = lead.sent();
    expect(sent[0]).toMatchObject({ kind: 'newsletter', at: T0 });
    expect(busiestWindow(sent)).toBe(3);
    // Nurture fills the slots the newsletter leaves, and never pushes an issue out.
    expect(newsletters(sent).length).toBe(13);
    expect(sent.some((e) => e.kind === 'nurture')).toBe(true);
  });

  it('a subscriber that sales owns (SQL, opportunity) keeps the newsletter, and gets no nurture', () => {
    const lead = subscriber();
    lead.send({ type: 'engagement', kind: 'webinar_attended' });
    lead.send({ type: 'engagement', kind: 'pricing_page' });
    lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
    lead.send({ type: 'sales.accepted', owner: 'rep-7' });
    expect(lead.stage).toBe('sql');
    const ownedAt = lead.now;
    lead.runTimersUntil(ownedAt + 90 * DAY_MS);
    const since = lead.sent().filter((e) => e.at > ownedAt);
    expect(newsletters(since).length).toBeGreaterThanOrEqual(2);
    expect(since.filter((e) => e.kind === 'nurture')).toEqual([]);
    lead.send({ type: 'proposal.sent', amount: 24_000 });
    expect(lead.stage).toBe('opportunity');
    const proposedAt = lead.now;
    lead.runTimersUntil(proposedAt + 90 * DAY_MS);
    expect(newsletters(lead.sent().filter((e) => e.at > proposedAt)).length).toBeGreaterThanOrEqual(2);
  });

  it('customers are subscribers and keep receiving the newsletter for a year', () => {
    const lead = opportunityLead();
    lead.send({ type: 'deal.won', amount: 24_000 });
    const wonAt = lead.now;
    lead.runTimersUntil(wonAt + 365 * DAY_MS);
    const issues = newsletters(lead.sent().filter((e) => e.at >= wonAt));
    expect(issues.length).toBeGreaterThanOrEqual(12);
    expect(lead.sent().filter((e) => e.at >= wonAt && e.kind === 'nurture')).toEqual([]);
  });

  it('an unsubscribed subscriber gets no newsletter', () => {
    const lead = subscriber();
    lead.runTimersUntil(T0 + 40 * DAY_MS);
    const before = newsletters(lead.sent()).length;
    lead.send({ type: 'consent.unsubscribed', doNotContact: false });
    expect(lead.cycle.deadlines(lead.cycle.stateOf(lead.snapshot)).map((d) => d.event)).not.toContain(
      'tick.nurture',
    );
    expect(lead.send({ type: 'tick.nurture' })?.guard).toBe('consentGiven');
    lead.runTimersUntil(T0 + 365 * DAY_MS);
    expect(newsletters(lead.sent()).length).toBe(before);
  });

  it('a newsletter form without an opt-in subscribes but sends nothing until consent is given', () => {
    const lead = testLead();
    lead.send({ type: 'form.submitted', form: 'newsletter', consent: false, profile: FIT });
    lead.runTimersUntil(T0 + 60 * DAY_MS);
    expect(lead.sent()).toEqual([]);
    lead.send({ type: 'consent.subscribed' });
    lead.runTimersUntil(lead.now + 1);
    expect(lead.sent()[0]).toMatchObject({ kind: 'newsletter', item: { id: 'newsletter-1' } });
  });

  it('when the newsletter issues run out, the subscriber waits for new ones and stays subscribed', () => {
    const config = { content: catalog({ newsletter: 2, discovery: 0 }), whenContentRunsOut: 'wait' as const };
    const lead = subscriber(config);
    lead.runTimersUntil(T0 + 365 * DAY_MS);
    expect(newsletters(lead.sent()).map((e) => e.item.id)).toEqual(['newsletter-1', 'newsletter-2']);
    expect(lead.cycle.nextDeadline(lead.cycle.stateOf(lead.snapshot))?.event).not.toBe('tick.nurture');
    expect(lead.context.newsletter?.subscribedAt).toBe(T0);
    // The next issue in the config gives the subscriber a deadline again.
    const grown = createLeadCycle({ ...config, content: catalog({ newsletter: 3, discovery: 0 }) });
    expect(grown.nextDeadline(grown.stateOf(lead.snapshot))).toMatchObject({ event: 'tick.nurture' });
  });
});

describe('a lead whose family is used up', () => {
  it('falls back to the newsletter by default (whenContentRunsOut: newsletter)', () => {
    const lead = capturedLead();
    lead.runTimersUntil(T0 + 120 * DAY_MS);
    const sent = lead.sent();
    expect(sent.slice(0, 6).map((e) => e.item.id)).toEqual(items('discovery', 6).map((i) => i.id));
    const fallback = sent.slice(6);
    expect(fallback.length).toBeGreaterThanOrEqual(2);
    expect(fallback.every((e) => e.kind === 'newsletter')).toBe(true);
    // The newsletter's pace, not nurture's.
    expect((fallback[1]?.at ?? 0) - (fallback[0]?.at ?? 0)).toBe(30 * DAY_MS);
    expect(lead.context.newsletter?.subscribedAt).toBeNull();
    expect(busiestWindow(sent)).toBeLessThanOrEqual(3);
  });

  it('waits with no deadline when whenContentRunsOut is wait', () => {
    const lead = capturedLead({ whenContentRunsOut: 'wait' });
    lead.runTimersUntil(T0 + 365 * DAY_MS);
    expect(lead.sent().map((e) => e.item.id)).toEqual(items('discovery', 6).map((i) => i.id));
    expect(lead.cycle.deadlines(lead.cycle.stateOf(lead.snapshot)).map((d) => d.event)).not.toContain(
      'tick.nurture',
    );
    expect(lead.send({ type: 'tick.nurture' })?.message).toContain('every discovery item was already sent');
  });

  it('gets a nurture deadline again as soon as the config it runs has a new item', () => {
    const config = { whenContentRunsOut: 'wait' as const, content: catalog({ discovery: 2 }) };
    const options = { id: 'lead-1', atDeadlines: true };
    const driver = LeadDriver.start(createLeadCycle(config), { leadKey: 'test:ada', at: T0 }, options);
    driver.offer({ type: 'form.submitted', form: 'content_download', consent: true, profile: FIT, at: T0 });
    driver.feedDue(T0 + 365 * DAY_MS);
    const sentIds = () => driver.state.context.nurture.sentIds;
    expect(sentIds()).toEqual(['discovery-1', 'discovery-2']);
    expect(driver.nextDeadline()?.event).not.toBe('tick.nurture');

    // The same lead under a config whose catalog has one more item (a rollout swaps the config).
    const grown = { ...config, content: catalog({ discovery: 3 }) };
    const again = LeadDriver.resume(createLeadCycle(grown), driver.carry(), options);
    expect(again.nextDeadline()).toMatchObject({ event: 'tick.nurture' });
    again.feedDue(T0 + 366 * DAY_MS);
    expect(again.state.context.nurture.sentIds.at(-1)).toBe('discovery-3');
  });

  it('resumes nurture, not the newsletter, when its buying stage moves to a family with items', () => {
    const lead = capturedLead();
    lead.runTimersUntil(T0 + 80 * DAY_MS);
    expect(lead.sent().at(-1)?.kind).toBe('newsletter');
    lead.send({ type: 'bant.updated', bant: { need: true } }); // considering: evaluation content
    lead.runTimersUntil(lead.now + 20 * DAY_MS);
    expect(lead.sent().at(-1)).toMatchObject({ kind: 'nurture', family: 'evaluation' });
  });
});

describe('leads recorded before the newsletter-subscription rule', () => {
  const before = { ...LATEST_RULES, newsletterSubscription: false };

  it('a newsletter form does not subscribe, and a used-up lead falls silent', () => {
    const cycle = createLeadCycle({}, before);
    let { snapshot } = cycle.start({ leadKey: 'test:ada', at: T0 });
    const sent: Effect[] = [];
    const form = { type: 'form.submitted', form: 'newsletter', consent: true, profile: FIT, at: T0 } as const;
    const applied = cycle.apply(snapshot, form);
    if (!applied.ok) throw new Error(applied.rejection.message);
    snapshot = applied.snapshot;
    for (let n = 0; n < 100; n++) {
      const next = cycle.nextDeadline(cycle.stateOf(snapshot));
      if (!next || next.at > T0 + 365 * DAY_MS) break;
      const decision = cycle.apply(snapshot, { type: next.event, at: next.at });
      if (!decision.ok) throw new Error(decision.rejection.message);
      snapshot = decision.snapshot;
      sent.push(...decision.effects.filter((e) => e.type === 'content.send'));
    }
    expect(snapshot.context.newsletter).toBeUndefined();
    expect(sent.length).toBe(6);
    expect(sent.every((e) => e.type === 'content.send' && e.kind === 'nurture')).toBe(true);
  });

  it('keeps the 12 default newsletter issues it was recorded with', () => {
    expect(createLeadCycle({}).config.content.newsletter.length).toBe(24);
    const old = createLeadCycle({}, before);
    expect(old.config.content.newsletter.map((i) => i.id)).toEqual(
      Array.from({ length: 12 }, (_, i) => `newsletter-${i + 1}`),
    );
    // A customer that read issue 12 gets no newsletter deadline: no new timer for an old lead.
    const { snapshot } = old.start({ leadKey: 'test:ada', at: T0 });
    const state = old.stateOf(snapshot);
    const read = old.config.content.newsletter.map((i) => i.id);
    const customer = {
      ...state,
      value: { ...state.value, lifecycle: 'customer' as const, consent: 'granted' as const },
      context: { ...state.context, nurture: { ...state.context.nurture, sentIds: read, lastSentAt: T0 } },
    };
    expect(old.deadlines(customer).map((d) => d.event)).not.toContain('tick.nurture');
    // An explicit catalog is taken as given.
    expect(createLeadCycle({ content: catalog({}) }, before).config.content.newsletter.length).toBe(24);
  });
});
