/**
 * The vendors' own webhooks (HubSpot, Mautic, Typeform) over real HTTP, with a real worker on the
 * dev server. Each delivery is signed here as its vendor documents it, not with the API's verifier:
 * HubSpot v3 = base64(HMAC-SHA256(client secret, method + URI + body + timestamp ms)), the URI being
 * the public URL called with %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B decoded; Mautic =
 * base64(HMAC-SHA256(secret, body)) in Webhook-Signature; Typeform = "sha256=" + base64(HMAC-SHA256(
 * secret, body)) in Typeform-Signature.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/server.js';
import { API_KEY, type ApiResponse, type ApiStack, startApiStack, unique } from './support.js';

const HUBSPOT_SECRET = 'hubspot-client-secret-0123456789';
const MAUTIC_SECRET = 'mautic-webhook-secret-0123456789';
const TYPEFORM_SECRET = 'typeform-webhook-secret-012345678';
/** What HubSpot calls: the API behind a proxy, not the address the test reaches it at. */
const PUBLIC_URL = 'https://leads.example.com';

let api: ApiStack;
beforeAll(async () => {
  api = await startApiStack({
    vendorSecrets: { hubspot: HUBSPOT_SECRET, mautic: MAUTIC_SECRET, typeform: TYPEFORM_SECRET },
    publicUrl: PUBLIC_URL,
  });
});
afterAll(async () => {
  await api?.close();
});

const b64hmac = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('base64');

async function post(path: string, raw: string, headers: Record<string, string>): Promise<ApiResponse> {
  return api.call('POST', path, { raw, headers, auth: false });
}

const lookup = async (lead: Record<string, string>) =>
  (await api.call('POST', '/v1/leads/lookup', { body: { lead } })).json;

describe('POST /v1/webhooks/hubspot', () => {
  /**
   * Sends `body` to `path` signed as HubSpot does. `signedUri` is the URI HubSpot signs (the public URL
   * with the listed escapes decoded); default: PUBLIC_URL + path, which holds none.
   */
  async function hubspot(
    path: string,
    body: unknown,
    {
      timestamp = Date.now(),
      signedUri = `${PUBLIC_URL}${path}`,
      raw = JSON.stringify(body),
      signature = '',
    } = {},
  ) {
    const sent = signature || b64hmac(HUBSPOT_SECRET, `POST${signedUri}${raw}${timestamp}`);
    const res = await post(path, raw, {
      'x-hubspot-signature-v3': sent,
      'x-hubspot-request-timestamp': String(timestamp),
    });
    return { ...res, signature: sent, timestamp };
  }
  const event = (
    portalId: number,
    objectId: number,
    eventId: number,
    extra: Record<string, unknown> = {},
  ) => ({
    eventId,
    subscriptionId: 12345,
    portalId,
    appId: 54321,
    occurredAt: Date.now(),
    objectId,
    changeSource: 'CRM',
    attemptNumber: 0,
    ...extra,
  });

  it('a creation and property changes reach the lead hubspot:<portal>:<object>; the rest is ignored', async () => {
    const tenant = unique();
    const portal = 62515;
    const object = Math.floor(Math.random() * 1e9);
    const change = (id: number, propertyName: string, propertyValue: string) =>
      event(portal, object, id, { subscriptionType: 'contact.propertyChange', propertyName, propertyValue });
    const res = await hubspot(`/v1/webhooks/hubspot?tenant=${tenant}`, [
      event(portal, object, 1, { subscriptionType: 'contact.creation', changeFlag: 'NEW' }),
      change(2, 'email', 'Grace@Hopper.example'),
      change(3, 'firstname', 'Grace'),
      change(4, 'numberofemployees', '250'),
      change(5, 'lifecyclestage', 'customer'),
      event(portal, object, 6, { subscriptionType: 'deal.creation' }),
    ]);
    expect(res.status).toBe(200);
    expect(res.json.applied.map((a: { event: string }) => a.event)).toEqual([
      'contact.creation',
      'contact.propertyChange:email',
      'contact.propertyChange:firstname',
      'contact.propertyChange:numberofemployees',
    ]);
    expect(res.json.ignored.map((i: { event: string }) => i.event)).toEqual([
      'contact.propertyChange:lifecyclestage',
      'deal.creation',
    ]);
    const lead = await lookup({ tenant, externalId: `hubspot:${portal}:${object}` });
    expect(lead).toMatchObject({ leadId: res.json.applied[0].leadId, stage: 'visitor', consent: 'unknown' });
    expect(lead.state.context.profile).toMatchObject({
      email: 'grace@hopper.example',
      firstName: 'Grace',
      companySize: 250,
    });
  });

  it('hs_email_optout unsubscribes the contact; turning it off grants nothing', async () => {
    const tenant = unique();
    const object = Math.floor(Math.random() * 1e9);
    const optout = (id: number, value: string) =>
      event(1, object, id, {
        subscriptionType: 'contact.propertyChange',
        propertyName: 'hs_email_optout',
        propertyValue: value,
      });
    const path = `/v1/webhooks/hubspot?tenant=${tenant}`;
    const out = await hubspot(path, [optout(1, 'true')]);
    expect(out).toMatchObject({ status: 200, json: { applied: [{ consent: 'withdrawn' }] } });
    const back = await hubspot(path, [optout(2, 'false')]);
    expect(back).toMatchObject({
      status: 200,
      json: { applied: [], ignored: [{ reason: expect.any(String) }] },
    });
    expect((await lookup({ tenant, externalId: `hubspot:1:${object}` })).consent).toBe('withdrawn');
  });

  it("a retried event (HubSpot's next attempt, a new delivery) is applied once", async () => {
    const tenant = unique();
    const object = Math.floor(Math.random() * 1e9);
    const optout = {
      subscriptionType: 'contact.propertyChange',
      propertyName: 'hs_email_optout',
      propertyValue: 'true',
    };
    const path = `/v1/webhooks/hubspot?tenant=${tenant}`;
    const first = await hubspot(path, [event(1, object, 77, { ...optout, occurredAt: 1_700_000_000_000 })]);
    const retry = await hubspot(path, [
      event(1, object, 77, { ...optout, occurredAt: 1_700_000_000_000, attemptNumber: 1 }),
    ]);
    expect(retry.json.applied).toEqual(first.json.applied);
    const consents = async () =>
      (await api.call('GET', `/v1/leads/${first.json.applied[0].leadId}/timeline`)).json.entries.filter(
        (entry: { kind: string }) => entry.kind === 'consent',
      ).length;
    expect(await consents()).toBe(1);
    // Another event, even with the same eventId (HubSpot does not promise it unique), is applied.
    await hubspot(path, [event(1, object, 77, { ...optout, occurredAt: 1_700_000_100_000 })]);
    expect(await consents()).toBe(2);
  });

  it('signs the public URL with the listed escapes decoded', async () => {
    const tenant = unique();
    const body = [event(7, 8, 9, { subscriptionType: 'contact.creation' })];
    const res = await hubspot(`/v1/webhooks/hubspot?tenant=${tenant}&src=a%3Ab%2Cc%40d`, body, {
      signedUri: `${PUBLIC_URL}/v1/webhooks/hubspot?tenant=${tenant}&src=a:b,c@d`,
    });
    expect(res.status).toBe(200);
    // Signed for another host (the address HubSpot did not call): refused.
    const elsewhere = await hubspot(`/v1/webhooks/hubspot?tenant=${tenant}`, body, {
      signedUri: `${api.base}/v1/webhooks/hubspot?tenant=${tenant}`,
    });
    expect(elsewhere).toMatchObject({ status: 401, json: { code: 'invalid_signature' } });
  });

  it('refuses altered, stale, replayed and unsigned deliveries', async () => {
    const tenant = unique();
    const path = `/v1/webhooks/hubspot?tenant=${tenant}`;
    const body = [event(1, 2, 3, { subscriptionType: 'contact.creation' })];
    const first = await hubspot(path, body);
    expect(first.status).toBe(200);
    const replay = await hubspot(path, body, { timestamp: first.timestamp, signature: first.signature });
    expect(replay).toMatchObject({ status: 409, json: { code: 'webhook_replayed' } });
    const altered = await hubspot(path, body, {
      timestamp: first.timestamp,
      signature: first.signature,
      raw: JSON.stringify([{ ...body[0], objectId: 666 }]),
    });
    expect(altered).toMatchObject({ status: 401, json: { code: 'invalid_signature' } });
    // Another tenant in the URL is another signed URI.
    const retargeted = await post(`/v1/webhooks/hubspot?tenant=${unique()}`, JSON.stringify(body), {
      'x-hubspot-signature-v3': first.signature,
      'x-hubspot-request-timestamp': String(first.timestamp),
    });
    expect(retargeted.status).toBe(401);
    const stale = await hubspot(path, body, { timestamp: Date.now() - 6 * 60_000 });
    expect(stale).toMatchObject({ status: 401, json: { code: 'stale_signature' } });
    const unsigned = await post(path, JSON.stringify(body), {});
    expect(unsigned).toMatchObject({ status: 401, json: { code: 'missing_signature' } });
    const garbage = await post(path, '{not json', {
      'x-hubspot-signature-v3': 'x',
      'x-hubspot-request-timestamp': '1',
    });
    expect(garbage.status).toBe(401);
  });

  it('a signed delivery that is not a batch of events is a 400 naming the field', async () => {
    const res = await hubspot(`/v1/webhooks/hubspot?tenant=${unique()}`, [{ eventId: 1, portalId: 2 }]);
    expect(res.status).toBe(400);
    expect([...new Set(res.json.issues.map((i: { path: string }) => i.path))].sort()).toEqual([
      '0.objectId',
      '0.subscriptionType',
    ]);
  });
});

describe('POST /v1/webhooks/mautic', () => {
  async function mautic(path: string, body: unknown, { raw = JSON.stringify(body), signature = '' } = {}) {
    const sent = signature || b64hmac(MAUTIC_SECRET, raw);
    return { ...(await post(path, raw, { 'webhook-signature': sent })), signature: sent, raw };
  }
  /** A contact as Mautic sends it: fields by group, each `{ alias, value, … }`; empty groups are []. */
  const contact = (id: number, email: string, extra: Record<string, unknown> = {}) => ({
    id,
    isPublished: true,
    points: 0,
    fields: {
      core: {
        email: { id: 6, label: 'Email', alias: 'email', type: 'email', group: 'core', value: email },
        firstname: {
          id: 2,
          label: 'First Name',
          alias: 'firstname',
          type: 'text',
          group: 'core',
          value: 'Ada',
        },
        company: { id: 4, label: 'Company', alias: 'company', type: 'text', group: 'core', value: 'Acme' },
        position: { id: 5, label: 'Position', alias: 'position', type: 'text', group: 'core', value: null },
      },
      social: [],
      personal: [],
      professional: [],
    },
    doNotContact: [],
    ...extra,
  });
  const now = () => new Date().toISOString();

  it('a new contact is the lead by its email, its profile from the contact fields', async () => {
    const tenant = unique();
    const res = await mautic(`/v1/webhooks/mautic?tenant=${tenant}`, {
      'mautic.lead_post_save_new': [{ contact: contact(1, 'Ada@Acme.example'), timestamp: now() }],
    });
    expect(res).toMatchObject({ status: 200, json: { applied: [{ stage: 'visitor', consent: 'unknown' }] } });
    const lead = await lookup({ tenant, email: 'ada@acme.example' });
    expect(lead.leadId).toBe(res.json.applied[0].leadId);
    expect(lead.state.context.profile).toMatchObject({
      email: 'ada@acme.example',
      firstName: 'Ada',
      company: 'Acme',
    });
  });

  it('a form submission is a form.submitted; consent only from the field the URL names', async () => {
    const tenant = unique();
    const submit = (email: string, optin: string) => ({
      'mautic.form_on_submit': [
        {
          submission: {
            id: Math.floor(Math.random() * 1e9),
            form: { id: 3, name: 'Demo', alias: 'demo' },
            lead: contact(2, email),
            results: { email, firstname: 'Ada', optin },
          },
          timestamp: now(),
        },
      ],
    });
    const path = `/v1/webhooks/mautic?tenant=${tenant}&form=demo_request&consent=optin`;
    const yes = await mautic(path, submit('yes@acme.example', '1'));
    expect(yes).toMatchObject({
      status: 200,
      json: { applied: [{ stage: expect.any(String), consent: 'granted' }] },
    });
    expect(yes.json.applied[0].stage).not.toBe('visitor');
    const no = await mautic(path, submit('no@acme.example', 'no'));
    expect(no.json.applied.at(-1)).toMatchObject({ consent: 'withdrawn' });
    // A field that looks like consent but is not the one named: no consent.
    const unnamed = await mautic(`/v1/webhooks/mautic?tenant=${tenant}`, submit('unnamed@acme.example', '1'));
    expect(unnamed.json.applied).toEqual([expect.objectContaining({ consent: 'unknown' })]);
    expect((await lookup({ tenant, email: 'no@acme.example' })).consent).toBe('withdrawn');
  });

  it('an unsubscribe from email, or a Do Not Contact on email, withdraws consent', async () => {
    const tenant = unique();
    const path = `/v1/webhooks/mautic?tenant=${tenant}`;
    const changed = await mautic(path, {
      'mautic.lead_channel_subscription_changed': [
        {
          contact: contact(3, 'unsub@acme.example'),
          channel: 'email',
          old_status: 'contactable',
          new_status: 'unsubscribed',
          timestamp: now(),
        },
      ],
    });
    expect(changed).toMatchObject({ status: 200, json: { applied: [{ consent: 'withdrawn' }] } });
    const dnc = await mautic(path, {
      'mautic.lead_post_save_update': [
        {
          contact: contact(4, 'dnc@acme.example', { doNotContact: [{ id: 1, reason: 3, channel: 'email' }] }),
          timestamp: now(),
        },
      ],
    });
    expect(dnc.json.applied.at(-1)).toMatchObject({ consent: 'withdrawn' });
    const anonymous = await mautic(path, {
      'mautic.lead_post_save_new': [{ contact: { id: 5, fields: { core: {} } }, timestamp: now() }],
    });
    expect(anonymous).toMatchObject({
      status: 200,
      json: { applied: [], ignored: [{ event: 'mautic.lead_post_save_new' }] },
    });
  });

  it('refuses altered, stale, replayed and unsigned deliveries', async () => {
    const path = `/v1/webhooks/mautic?tenant=${unique()}`;
    const body = {
      'mautic.lead_post_save_new': [{ contact: contact(6, 'r@acme.example'), timestamp: now() }],
    };
    const first = await mautic(path, body);
    expect(first.status).toBe(200);
    const replay = await mautic(path, undefined, { raw: first.raw, signature: first.signature });
    expect(replay).toMatchObject({ status: 409, json: { code: 'webhook_replayed' } });
    const altered = await mautic(path, undefined, {
      raw: first.raw.replace('r@acme.example', 'mallory@evil.example'),
      signature: first.signature,
    });
    expect(altered).toMatchObject({ status: 401, json: { code: 'invalid_signature' } });
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    const stale = await mautic(path, {
      'mautic.lead_post_save_new': [{ contact: contact(7, 's@acme.example'), timestamp: old }],
    });
    expect(stale).toMatchObject({ status: 401, json: { code: 'stale_signature' } });
    const untimed = await mautic(path, {
      'mautic.lead_post_save_new': [{ contact: contact(8, 'u@acme.example') }],
    });
    expect(untimed.status).toBe(400);
    const unsigned = await post(path, JSON.stringify(body), {});
    expect(unsigned).toMatchObject({ status: 401, json: { code: 'missing_signature' } });
  });
});

describe('POST /v1/webhooks/typeform', () => {
  async function typeform(path: string, body: unknown, { raw = JSON.stringify(body), signature = '' } = {}) {
    const sent = signature || `sha256=${b64hmac(TYPEFORM_SECRET, raw)}`;
    return { ...(await post(path, raw, { 'typeform-signature': sent })), signature: sent, raw };
  }
  const response = (answers: unknown[], submittedAt = new Date().toISOString()) => ({
    event_id: `01${unique()}`,
    event_type: 'form_response',
    form_response: {
      form_id: 'lT4Z3j',
      token: 'a3a12ec67a1365927098a606107fac15',
      submitted_at: submittedAt,
      landed_at: submittedAt,
      calculated: { score: 0 },
      hidden: { utm_source: 'newsletter' },
      definition: { id: 'lT4Z3j', title: 'Webinar', fields: [] },
      answers,
    },
  });
  const email = (address: string) => ({
    type: 'email',
    email: address,
    field: { id: 'SMEUb7VJz92Q', type: 'email', ref: 'work_email' },
  });
  const optin = (yes: boolean) => ({
    type: 'boolean',
    boolean: yes,
    field: { id: 'abc', type: 'legal', ref: 'marketing_optin' },
  });
  const text = (ref: string, value: string) => ({
    type: 'text',
    text: value,
    field: { id: ref, type: 'short_text', ref },
  });

  it('a response is a form submission of the email answer; consent only from the answer named as consent', async () => {
    const tenant = unique();
    const path = `/v1/webhooks/typeform?tenant=${tenant}&form=webinar&consent=marketing_optin`;
    const yes = await typeform(
      path,
      response([text('firstName', 'Grace'), email('Grace@Hopper.example'), optin(true)]),
    );
    expect(yes).toMatchObject({ status: 200, json: { applied: [{ stage: 'lead', consent: 'granted' }] } });
    const lead = await lookup({ tenant, email: 'grace@hopper.example' });
    expect(lead.state.context.profile).toMatchObject({ email: 'grace@hopper.example', firstName: 'Grace' });

    const no = await typeform(path, response([email('no@hopper.example'), optin(false)]));
    expect(no.json.applied.at(-1)).toMatchObject({ consent: 'withdrawn' });
    // The same yes, not named as consent in the URL: nothing granted.
    const unnamed = await typeform(
      `/v1/webhooks/typeform?tenant=${tenant}`,
      response([email('u@hopper.example'), optin(true)]),
    );
    expect(unnamed.json.applied).toEqual([expect.objectContaining({ stage: 'lead', consent: 'unknown' })]);
    // A later yes does not lift the no: only an explicit resubscribe does.
    const again = await typeform(path, response([email('no@hopper.example'), optin(true)]));
    expect(again.json.applied).toEqual([expect.objectContaining({ consent: 'withdrawn' })]);
  });

  it('a response without an email answer is answered as ignored', async () => {
    const res = await typeform(
      `/v1/webhooks/typeform?tenant=${unique()}`,
      response([text('firstName', 'Anon')]),
    );
    expect(res).toMatchObject({ status: 200, json: { applied: [], ignored: [{ event: 'form_response' }] } });
  });

  it('refuses altered, stale, replayed and unsigned deliveries', async () => {
    const path = `/v1/webhooks/typeform?tenant=${unique()}`;
    const first = await typeform(path, response([email('r@hopper.example')]));
    expect(first.status).toBe(200);
    const replay = await typeform(path, undefined, { raw: first.raw, signature: first.signature });
    expect(replay).toMatchObject({ status: 409, json: { code: 'webhook_replayed' } });
    const altered = await typeform(path, undefined, {
      raw: first.raw.replace('r@hopper.example', 'mallory@evil.example'),
      signature: first.signature,
    });
    expect(altered).toMatchObject({ status: 401, json: { code: 'invalid_signature' } });
    // The right HMAC without its documented prefix is not Typeform's header.
    const unprefixed = await typeform(path, undefined, {
      raw: first.raw,
      signature: first.signature.slice(7),
    });
    expect(unprefixed).toMatchObject({ status: 401, json: { code: 'invalid_signature' } });
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    const stale = await typeform(path, response([email('s@hopper.example')], old));
    expect(stale).toMatchObject({ status: 401, json: { code: 'stale_signature' } });
    const untimed = response([email('u@hopper.example')]);
    untimed.form_response.submitted_at = 'yesterday';
    expect(await typeform(path, untimed)).toMatchObject({
      status: 400,
      json: { code: 'validation' },
    });
    const unsigned = await post(path, first.raw, {});
    expect(unsigned).toMatchObject({ status: 401, json: { code: 'missing_signature' } });
  });
});

describe('the vendor routes', () => {
  it('are in the OpenAPI document, with no API key', async () => {
    const doc = (await api.call('GET', '/openapi.json', { auth: false })).json;
    for (const vendor of ['hubspot', 'mautic', 'typeform']) {
      expect(doc.paths[`/v1/webhooks/${vendor}`].post.security).toEqual([]);
    }
  });

  it('do not exist without their secret', async () => {
    const app = await buildApi({
      client: api.h.client,
      apiKeys: [API_KEY],
      vendorSecrets: { mautic: MAUTIC_SECRET },
    });
    try {
      for (const vendor of ['hubspot', 'typeform']) {
        const res = await app.inject({ method: 'POST', url: `/v1/webhooks/${vendor}`, payload: [] });
        expect(res.statusCode).toBe(404);
        expect(res.json()).toMatchObject({ code: 'route_not_found' });
      }
    } finally {
      await app.close();
    }
  });
});
