import { describe, expect, it } from 'vitest';
import { describeIssues, issuesOf } from '../../src/errors.js';
import {
  createChecks,
  createLeadCycle,
  LATEST_RULES,
  type LeadcycleConfigInput,
  LeadcycleConfigSchema,
  type LeadEvent,
} from '../../src/machines/index.js';
import { FIT, sqlLead, T0, testLead } from '../support/lead.js';

/** Rules marketing-ops keep in config (README, "Configuration"), one test per rule, through the machine. */

const RIVAL: LeadcycleConfigInput = { profileRules: { competitorDomains: ['rival.com'] } };
const STUDENTS: LeadcycleConfigInput = { profileRules: { disqualifyingJobFunctions: ['student'] } };

/** A persona-fit demo request, then enough engagement for any MQL threshold. */
function engaged(config: LeadcycleConfigInput, email: string) {
  const lead = testLead(config);
  lead.send({ type: 'form.submitted', form: 'demo_request', consent: true, profile: { ...FIT, email } });
  lead.send({ type: 'engagement', kind: 'webinar_attended' });
  lead.send({ type: 'engagement', kind: 'pricing_page' });
  return lead;
}

const handoffs = (lead: ReturnType<typeof testLead>) =>
  lead.effects.filter((e) => e.type === 'sales.handoff');

describe('profile rules', () => {
  it('a competitor is disqualified, not handed off to sales', () => {
    const lead = engaged(RIVAL, 'spy@eu.rival.com');
    expect(lead.stage).toBe('disqualified');
    expect(lead.context.closed).toMatchObject({ reason: 'competitor', note: 'domain eu.rival.com' });
    expect(handoffs(lead)).toEqual([]);
    // Straight from the anonymous visitor: not every suspect becomes a lead.
    expect(lead.effects.filter((e) => e.type === 'stage.changed').at(-1)).toMatchObject({
      from: 'visitor',
      to: 'disqualified',
      cause: 'form.submitted',
      reason: 'competitor',
    });
    // A closed competitor gets no content.
    expect(lead.send({ type: 'tick.nurture' })?.code).toBe('not_allowed_in_stage');
  });

  it('a competitor found out by a profile update or a merge is disqualified from the stages marketing owns', () => {
    const mql = engaged(RIVAL, 'ada@acme.example');
    expect(mql.stage).toBe('mql');
    mql.send({ type: 'profile.updated', profile: { email: 'ada@rival.com' } });
    expect(mql.stage).toBe('disqualified');
    expect(mql.context.closed).toMatchObject({ reason: 'competitor', note: 'domain rival.com' });

    const visitor = testLead(RIVAL);
    visitor.send({ type: 'visit', channel: 'web' });
    visitor.send({
      type: 'lead.absorbed',
      from: 'test:spy@rival.com',
      facts: {
        profile: { email: 'spy@rival.com' },
        bant: {},
        engagementPoints: 40,
        furthestContentStage: null,
        consent: 'unknown',
        doNotContact: false,
        sentIds: [],
        sentAt: [],
      },
    });
    expect(visitor.stage).toBe('disqualified');
    expect(visitor.context.absorbed).toEqual(['test:spy@rival.com']);
  });

  it('an SQL or an opportunity is left to sales: a rule does not close a lead sales owns', () => {
    const lead = sqlLead(RIVAL);
    lead.send({ type: 'profile.updated', profile: { email: 'ada@rival.com' } });
    expect(lead.stage).toBe('sql');
    expect(lead.send({ type: 'disqualify', reason: 'competitor' })).toBeNull();
    expect(lead.stage).toBe('disqualified');
  });

  it('a free-mail address is never made an MQL, and stays nurtured', () => {
    const lead = engaged({}, 'ada@gmail.com');
    expect(lead.context.score).toBeGreaterThanOrEqual(50);
    expect(lead.context.fit.score).toBe(100);
    expect(lead.stage).toBe('lead');
    expect(handoffs(lead)).toEqual([]);
    expect(lead.send({ type: 'tick.nurture' })).toBeNull();
    expect(lead.sent()).toHaveLength(1);
    // The check says why.
    const { clearsProfileRules } = createChecks(LeadcycleConfigSchema.parse({}));
    expect(
      clearsProfileRules({ context: lead.context, event: { type: 'tick.decay', at: lead.now } }),
    ).toEqual({
      ok: false,
      why: 'email domain gmail.com is a free-mail domain (profileRules.freeMailDomains): never an MQL',
    });
  });

  it('a competitor rule set to never_mql keeps the lead nurtured and away from sales', () => {
    const lead = engaged(
      { profileRules: { competitorDomains: { domains: ['rival.com'], action: 'never_mql' } } },
      'x@rival.com',
    );
    expect(lead.stage).toBe('lead');
    expect(handoffs(lead)).toEqual([]);
  });

  it('a student job function is disqualified as a student', () => {
    const lead = testLead(STUDENTS);
    lead.send({
      type: 'form.submitted',
      form: 'webinar',
      consent: true,
      profile: { email: 's@uni.example' },
    });
    expect(lead.stage).toBe('lead');
    lead.send({ type: 'profile.updated', profile: { jobFunction: 'student' } });
    expect(lead.stage).toBe('disqualified');
    expect(lead.context.closed).toMatchObject({ reason: 'student', note: 'job function student' });
    // Another job function on the list closes as not a persona.
    const recruiter = testLead({ profileRules: { disqualifyingJobFunctions: ['recruiting'] } });
    recruiter.send({
      type: 'form.submitted',
      form: 'contact',
      consent: false,
      profile: { email: 'r@agency.example', jobFunction: 'recruiting' },
    });
    expect(recruiter.context.closed).toMatchObject({
      reason: 'not_a_persona',
      note: 'job function recruiting',
    });
  });

  it('by default no job function and no domain disqualifies: a student stays a lead', () => {
    const lead = testLead();
    lead.send({
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: { email: 's@uni.example', jobFunction: 'student' },
    });
    expect(lead.stage).toBe('lead');
  });
});

describe('page rules', () => {
  it('a /pricing visit scores as the pricing page', () => {
    const lead = testLead();
    lead.send({ type: 'visit', channel: 'web', page: '/pricing' });
    expect(lead.context.engagement.points).toBe(10);
    expect(lead.context.buyingStage).toBe('decision');
    lead.send({
      type: 'visit',
      channel: 'web',
      page: 'https://acme.example/Pricing/enterprise?utm_source=ad#top',
    });
    expect(lead.context.engagement.points).toBe(20);
  });

  it('a careers visit scores as a careers page, any other page as a page view, and the first rule wins', () => {
    const lead = testLead();
    lead.send({ type: 'visit', channel: 'web', page: '/careers/engineering' });
    expect(lead.context.engagement.points).toBe(-10);
    const blog = testLead();
    blog.send({ type: 'visit', channel: 'web', page: '/blog/pricing-models' });
    blog.send({ type: 'visit', channel: 'web' });
    expect(blog.context.engagement.points).toBe(2);
    const ordered = testLead({
      pageRules: [
        { pattern: '/pricing/faq', kind: 'page_view' },
        { pattern: '/*/webinars/*', kind: 'webinar_registered' },
        { pattern: '/pricing*', kind: 'pricing_page' },
      ],
    });
    ordered.send({ type: 'visit', channel: 'web', page: '/pricing/faq' });
    ordered.send({ type: 'visit', channel: 'web', page: '/en/webinars/spring' });
    expect(ordered.context.engagement.points).toBe(11);
  });

  it('a page pattern that is not a path is refused, naming the field', () => {
    const bad = (config: unknown) => {
      const parsed = LeadcycleConfigSchema.safeParse(config);
      return parsed.success ? null : describeIssues(issuesOf(parsed.error));
    };
    expect(bad({ pageRules: [{ pattern: 'pricing*', kind: 'pricing_page' }] })).toBe(
      'pageRules.0.pattern: must be a path starting with / (for example /pricing*)',
    );
    expect(bad({ pageRules: [{ pattern: '/pricing?plan=pro', kind: 'pricing_page' }] })).toMatch(
      /^pageRules\.0\.pattern: must be a path without a query string/,
    );
    expect(bad({ pageRules: [{ pattern: '/x', kind: 'pricing' }] })).toMatch(/^pageRules\.0\.kind: /);
    expect(bad({ profileRules: { competitorDomains: ['rival dot com'] } })).toBe(
      'profileRules.competitorDomains.domains.0: must be a domain such as rival.com',
    );
    expect(bad({ profileRules: { freeMailDomains: { action: 'block' } } })).toMatch(
      /^profileRules\.freeMailDomains\.action: /,
    );
  });
});

describe('runs recorded before the marketing rules', () => {
  it('take every profile and score every visit as a page view', () => {
    const config = LeadcycleConfigSchema.parse(RIVAL);
    const cycle = createLeadCycle(config, { ...LATEST_RULES, marketingRules: false });
    let { snapshot } = cycle.start({ leadKey: 'test:spy@rival.com', at: T0 });
    const events: LeadEvent[] = [
      { type: 'visit', at: T0, channel: 'web', page: '/pricing' },
      {
        type: 'form.submitted',
        at: T0,
        form: 'demo_request',
        consent: true,
        profile: { ...FIT, email: 'spy@rival.com' },
      },
      { type: 'engagement', at: T0, kind: 'webinar_attended' },
      { type: 'engagement', at: T0, kind: 'pricing_page' },
    ];
    for (const event of events) {
      const decision = cycle.apply(snapshot, event);
      if (!decision.ok) throw new Error(decision.rejection.message);
      snapshot = decision.snapshot;
    }
    // The visit counted as a page view (1 point), and the competitor was handed to sales as before.
    expect(snapshot.context.score).toBe(1 + 30 + 15 + 10);
    expect(snapshot.value.lifecycle).toBe('mql');
  });
});
