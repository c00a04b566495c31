import { describe, expect, it } from 'vitest';
import { LeadCommandSchema, TouchSchema } from '../../src/machines/index.js';
import { FIT, testLead } from '../support/lead.js';

const stageChanges = (lead: ReturnType<typeof testLead>) =>
  lead.effects.filter((e) => e.type === 'stage.changed');

describe('touches (attribution)', () => {
  it('keeps the first touch and makes each later touch the last', () => {
    const lead = testLead();
    lead.send({ type: 'visit', channel: 'social', touch: { source: 'linkedin', campaign: 'spring' } });
    expect(lead.context.touches).toEqual({
      first: { channel: 'social', source: 'linkedin', campaign: 'spring' },
      last: { channel: 'social', source: 'linkedin', campaign: 'spring' },
    });
    lead.send({
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: FIT,
      touch: { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand' },
    });
    expect(lead.context.touches?.first).toEqual({
      channel: 'social',
      source: 'linkedin',
      campaign: 'spring',
    });
    // A form's touch names the form's kind unless it gives its own form label.
    expect(lead.context.touches?.last).toEqual({
      form: 'demo_request',
      utm_source: 'google',
      utm_medium: 'cpc',
      utm_campaign: 'brand',
    });
  });

  it('a visit or form without a touch leaves the touches as they were', () => {
    const lead = testLead();
    lead.send({ type: 'visit', channel: 'web' });
    expect(lead.context.touches).toBeUndefined();
    lead.send({
      type: 'form.submitted',
      form: 'webinar',
      consent: false,
      profile: FIT,
      touch: { form: 'w-42' },
    });
    lead.send({ type: 'visit', channel: 'web', page: '/pricing' });
    lead.send({ type: 'form.submitted', form: 'contact', consent: false, profile: FIT });
    expect(lead.context.touches).toEqual({ first: { form: 'w-42' }, last: { form: 'w-42' } });
  });

  it('each stage change carries the touches as of the change; none before there is one', () => {
    const lead = testLead();
    lead.send({ type: 'visit', channel: 'web' });
    lead.send({
      type: 'form.submitted',
      form: 'content_download',
      consent: true,
      profile: FIT,
      touch: { source: 'newsletter-partner', campaign: 'ebook' },
    });
    lead.send({ type: 'visit', channel: 'referral', touch: { source: 'partner-x', campaign: 'webinar-q1' } });
    lead.send({ type: 'engagement', kind: 'demo_request' });
    lead.send({ type: 'engagement', kind: 'webinar_attended' });
    lead.send({ type: 'engagement', kind: 'pricing_page' });
    const [visitor, captured, mql] = stageChanges(lead);
    expect(visitor).toMatchObject({ to: 'visitor' });
    expect(visitor).not.toHaveProperty('firstTouch');
    expect(captured).toMatchObject({
      to: 'lead',
      firstTouch: { source: 'newsletter-partner', campaign: 'ebook', form: 'content_download' },
      lastTouch: { source: 'newsletter-partner', campaign: 'ebook', form: 'content_download' },
    });
    expect(mql).toMatchObject({
      to: 'mql',
      firstTouch: { source: 'newsletter-partner', campaign: 'ebook' },
      lastTouch: { source: 'partner-x', campaign: 'webinar-q1', channel: 'referral' },
    });
  });

  it('an imported contact takes the other tool’s touch as its first and last; a visit before it keeps its own', () => {
    const imported = {
      type: 'lead.imported',
      tool: 'hubspot',
      stage: 'mql',
      profile: { ...FIT, email: 'ada@acme.example' },
      touch: { source: 'paid search', channel: 'web', campaign: 'brand' },
    } as const;
    const lead = testLead();
    expect(lead.send(imported)).toBeNull();
    expect(lead.context.touches).toEqual({ first: imported.touch, last: imported.touch });
    expect(stageChanges(lead).at(-1)).toMatchObject({
      to: 'mql',
      firstTouch: imported.touch,
      lastTouch: imported.touch,
    });
    // Attribution counts the import under that touch; a later visit is the last touch.
    lead.send({ type: 'visit', channel: 'social', touch: { source: 'linkedin' } });
    expect(lead.context.touches?.first).toEqual(imported.touch);
    expect(lead.context.touches?.last).toEqual({ channel: 'social', source: 'linkedin' });

    const visited = testLead();
    visited.send({ type: 'visit', channel: 'referral', touch: { source: 'partner-x' } });
    expect(visited.send(imported)).toBeNull();
    expect(visited.context.touches).toEqual({
      first: { channel: 'referral', source: 'partner-x' },
      last: { channel: 'referral', source: 'partner-x' },
    });
    // Without a touch, an import sets none.
    const bare = testLead();
    expect(bare.send({ ...imported, touch: undefined })).toBeNull();
    expect(bare.context.touches).toBeUndefined();
  });

  it('a lead without touches emits stage changes as before', () => {
    const lead = testLead();
    lead.send({ type: 'form.submitted', form: 'demo_request', consent: true, profile: FIT });
    for (const change of stageChanges(lead)) {
      expect(change).not.toHaveProperty('firstTouch');
      expect(change).not.toHaveProperty('lastTouch');
    }
  });
});

describe('TouchSchema', () => {
  it('takes bounded marketing labels', () => {
    expect(TouchSchema.parse({ utm_term: ' crm software ', channel: 'web' })).toEqual({
      utm_term: 'crm software',
      channel: 'web',
    });
  });

  it.each([
    ['Café Launch (EMEA) – Q3', 'Café Launch (EMEA) – Q3'],
    ['Partners & Resellers', 'Partners & Resellers'],
    ['[Paid] Q3, 50% off!', '[Paid] Q3, 50% off!'],
    ['#launch', '#launch'],
    ['日本 展示会 2026', '日本 展示会 2026'],
    // One spelling of é (NFC), so the attribution report counts one campaign, not two.
    ['Cafe\u0301 Launch', 'Caf\u00e9 Launch'],
  ])('takes %j as campaigns are named in HubSpot and Mautic', (campaign, taken) => {
    expect(TouchSchema.parse({ campaign })).toEqual({ campaign: taken });
  });

  it.each([
    [{ source: 'ada@acme.example' }, ['source']],
    [{ campaign: '=HYPERLINK("x")' }, ['campaign']],
    [{ campaign: '-2+3' }, ['campaign']],
    [{ campaign: '"Q3"' }, ['campaign']],
    [{ campaign: 'a;b' }, ['campaign']],
    [{ campaign: 'tab\there' }, ['campaign']],
    [{ campaign: 'x'.repeat(101) }, ['campaign']],
    [{ utm_content: '<script>' }, ['utm_content']],
    [{ channel: 'tv' }, ['channel']],
    [{ medium: 'cpc' }, []],
    [{}, []],
  ])('refuses %j, naming the field', (touch, path) => {
    const parsed = TouchSchema.safeParse(touch);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(path);
  });

  it('says why a label is refused, and commands carry the field path', () => {
    const parsed = LeadCommandSchema.safeParse({
      type: 'form.submitted',
      form: 'contact',
      profile: { email: 'ada@acme.example' },
      touch: { source: 'ada@acme.example' },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['touch', 'source'],
      message: expect.stringContaining('never personal data'),
    });
  });
});
