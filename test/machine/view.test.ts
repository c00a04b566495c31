import { describe, expect, it } from 'vitest';
import { LeadcycleConfigSchema, viewOf } from '../../src/machines/index.js';
import { capturedLead, mqlLead, opportunityLead, sqlLead, type testLead } from '../support/lead.js';

/** "Why, at a glance" (issue #14): the view says why the lead is in its stage. */
const config = LeadcycleConfigSchema.parse({});
const reasonOf = (lead: ReturnType<typeof testLead>) =>
  viewOf(lead.cycle.stateOf(lead.snapshot), config).reason;

describe('view reason: why the lead is in its stage', () => {
  it('a disqualified lead names the disqualify reason', () => {
    const lead = capturedLead();
    lead.send({ type: 'disqualify', reason: 'student', note: 'a thesis' });
    expect(lead.stage).toBe('disqualified');
    expect(reasonOf(lead)).toBe('student');
  });

  it('a recycled lead names the recycle reason (the sales rejection)', () => {
    const lead = sqlLead();
    lead.send({ type: 'sales.rejected', reason: 'no_budget' });
    expect(lead.stage).toBe('recycled');
    expect(reasonOf(lead)).toBe('no_budget');
  });

  it('a lost deal names the loss reason', () => {
    const lead = opportunityLead();
    lead.send({ type: 'deal.lost', reason: 'competitor' });
    expect(lead.stage).toBe('lost');
    expect(reasonOf(lead)).toBe('competitor');
  });

  it('a merged lead says merged', () => {
    const lead = capturedLead();
    lead.send({ type: 'lead.merged', into: 'test:ext:crm-1' });
    expect(lead.stage).toBe('merged');
    expect(reasonOf(lead)).toBe('merged');
  });

  it('any other stage names the cause of its last stage change', () => {
    expect(reasonOf(capturedLead())).toBe('form.submitted');
    const mql = mqlLead();
    expect(mql.stage).toBe('mql');
    expect(reasonOf(mql)).toBe('hand_raiser:demo_request'); // its reason, when the change has one
    expect(reasonOf(sqlLead())).toBe('sales.accepted');
  });

  it('a lead carried from a run that kept no cause has no reason', () => {
    const lead = capturedLead();
    const { stageCause: _gone, ...context } = lead.snapshot.context;
    const state = lead.cycle.stateOf({ ...lead.snapshot, context } as typeof lead.snapshot);
    expect(viewOf(state, config).reason).toBeNull();
  });
});

describe('view touches: where the lead came from', () => {
  const viewOfLead = (lead: ReturnType<typeof testLead>) => viewOf(lead.cycle.stateOf(lead.snapshot), config);

  it('shows the first and the last touch; none before a touch', () => {
    const lead = capturedLead();
    expect(viewOfLead(lead)).not.toHaveProperty('touches');
    lead.send({ type: 'visit', channel: 'social', touch: { source: 'linkedin', campaign: 'abm-q3' } });
    lead.send({ type: 'visit', channel: 'web', touch: { utm_source: 'google', utm_medium: 'cpc' } });
    expect(viewOfLead(lead).touches).toEqual({
      first: { channel: 'social', source: 'linkedin', campaign: 'abm-q3' },
      last: { channel: 'web', utm_source: 'google', utm_medium: 'cpc' },
    });
  });
});
