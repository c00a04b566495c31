import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Analytics, openAnalyticsStore, type SqliteAnalyticsStore } from '../../src/analytics/index.js';
import { eventually } from '../support/workflow.js';
import { type ApiStack, startApiStack, unique } from './support.js';

/**
 * The attribution report over leads captured through the API (a capture and the forms webhook) and
 * a real worker: the touches reach the analytics store with each stage change.
 */
let api: ApiStack;
let store: SqliteAnalyticsStore;

beforeAll(async () => {
  api = await startApiStack((h) => {
    // The API reads the file the worker's activities write, as `leadcycle start` runs them.
    store = openAnalyticsStore(h.dataDir);
    return { analytics: new Analytics(store) };
  });
}, 60_000);
afterAll(async () => {
  await api?.close();
  await store?.close();
});

const FIT = { companySize: 250, sector: 'software', jobFunction: 'it' };

describe('GET /v1/reports/attribution', () => {
  it('credits leads and MQLs to their first and last touch', async () => {
    const tenant = unique();
    const capture = (email: string, form: string, touch: object) =>
      api.call('POST', '/v1/leads/capture', {
        body: {
          lead: { tenant, email },
          command: { type: 'form.submitted', form, consent: true, profile: { email, ...FIT }, touch },
        },
      });
    expect(
      (await capture('ada@acme.example', 'content_download', { source: 'google', campaign: 'ebook' })).status,
    ).toBe(200);
    const bob = await capture('bob@acme.example', 'webinar', {
      utm_source: 'linkedin',
      utm_medium: 'social',
    });
    expect(bob.status).toBe(200);
    const hook = await api.webhook('/v1/webhooks/forms', {
      tenant,
      email: 'cy@acme.example',
      form: 'contact',
      consent: true,
      profile: FIT,
      touch: { source: 'google', campaign: 'brand' },
    });
    expect(hook.status).toBe(200);
    // Ada comes back from a partner's page and asks for a demo: an MQL, after her last touch.
    const ada = { tenant, email: 'ada@acme.example' };
    const command = (c: object) =>
      api.call('POST', '/v1/leads/commands', { body: { lead: ada, command: c } });
    expect(
      (await command({ type: 'visit', channel: 'referral', touch: { source: 'partner-x' } })).status,
    ).toBe(200);
    const demo = await command({
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: { email: ada.email, ...FIT },
    });
    expect(demo.json).toMatchObject({ stage: 'mql' });
    // The lead's answer shows both touches: the first kept, the last the partner's (the demo form gave none).
    expect(demo.json.touches).toEqual({
      first: { form: 'content_download', source: 'google', campaign: 'ebook' },
      last: { channel: 'referral', source: 'partner-x' },
    });
    // Read back by id: one touch is both.
    const bobTouch = { form: 'webinar', utm_source: 'linkedin', utm_medium: 'social' };
    expect((await api.call('GET', `/v1/leads/${bob.json.leadId}`)).json.touches).toEqual({
      first: bobTouch,
      last: bobTouch,
    });

    const report = (query: string) => api.call('GET', `/v1/reports/attribution?tenant=${tenant}&${query}`);
    const first = await eventually(async () => {
      const res = await report('model=first&by=source');
      expect(res.status).toBe(200);
      expect(res.json.total).toMatchObject({ leads: 3, mqls: 2 });
      return res.json;
    });
    expect(first).toMatchObject({ model: 'first', by: 'source', period: null });
    // Cy's contact form raised a hand: an MQL at once, credited to the same touch either way.
    expect(first.rows).toEqual([
      { value: 'google', leads: 2, mqls: 2, sqls: 0, opportunities: 0, customers: 0, wonAmount: 0 },
      { value: 'linkedin', leads: 1, mqls: 0, sqls: 0, opportunities: 0, customers: 0, wonAmount: 0 },
    ]);
    const last = (await report('model=last&by=source')).json;
    expect(last.rows).toEqual([
      { value: 'google', leads: 2, mqls: 1, sqls: 0, opportunities: 0, customers: 0, wonAmount: 0 },
      { value: 'linkedin', leads: 1, mqls: 0, sqls: 0, opportunities: 0, customers: 0, wonAmount: 0 },
      { value: 'partner-x', leads: 0, mqls: 1, sqls: 0, opportunities: 0, customers: 0, wonAmount: 0 },
    ]);
    const byForm = (await report('model=first&by=form')).json;
    expect(byForm.rows.map((r: { value: string }) => r.value).sort()).toEqual([
      'contact',
      'content_download',
      'webinar',
    ]);
    const byChannel = (await report('model=last&by=channel')).json;
    expect(byChannel.rows).toContainEqual(expect.objectContaining({ value: 'referral', mqls: 1 }));
  }, 60_000);

  it('refuses a touch with personal data or an unknown parameter, naming the field', async () => {
    const res = await api.call('POST', '/v1/leads/capture', {
      body: {
        lead: { tenant: unique(), email: 'dee@acme.example' },
        command: {
          type: 'form.submitted',
          form: 'contact',
          profile: { email: 'dee@acme.example' },
          touch: { campaign: 'dee@acme.example' },
        },
      },
    });
    expect(res.status).toBe(400);
    expect(res.json.issues).toContainEqual(expect.objectContaining({ path: 'command.touch.campaign' }));
    const bad = await api.call('GET', '/v1/reports/attribution?model=linear&by=medium');
    expect(bad.status).toBe(400);
    expect(bad.json.issues.map((i: { path: string }) => i.path).sort()).toEqual(['by', 'model']);
  });
});
