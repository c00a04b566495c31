/** The unsubscribe link over real HTTP, with a real worker: no API key, a signed token, one click. */
import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeLinkFor, unsubscribeToken } from '../../src/activities/index.js';
import { buildApi } from '../../src/api/server.js';
import { LeadClient } from '../../src/client/index.js';
import { type ApiStack, startApiStack, unique } from './support.js';

const SECRET = 'unsub-test-0123456789abcdef';
const ONE_CLICK = { 'content-type': 'application/x-www-form-urlencoded' };

let api: ApiStack;
beforeAll(async () => {
  api = await startApiStack({ unsubscribeSecret: SECRET });
});
afterAll(async () => {
  await api?.close();
});

/** A lead that opted in on a form, and the path of its emails' link. */
async function subscribedLead() {
  const lead = { tenant: unique(), email: 'ada@lead.example' };
  const res = await api.call('POST', '/v1/leads/capture', {
    body: {
      lead,
      command: { type: 'form.submitted', form: 'newsletter', consent: true, profile: { email: lead.email } },
    },
  });
  expect(res).toMatchObject({ status: 200, json: { consent: 'granted' } });
  const leadId: string = res.json.leadId;
  const link = new URL(unsubscribeLinkFor({ baseUrl: api.base, secret: SECRET }, leadId));
  return { leadId, path: `${link.pathname}${link.search}` };
}

const consentOf = async (leadId: string) => (await api.call('GET', `/v1/leads/${leadId}`)).json.consent;

describe('GET /v1/unsubscribe/{leadId}', () => {
  it('shows a page whose button POSTs back, without an API key, and changes nothing', async () => {
    const { leadId, path } = await subscribedLead();
    const res = await api.call('GET', path, { auth: false });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const token = unsubscribeToken(SECRET, leadId);
    expect(res.text).toContain(`<form method="post" action="${leadId}?token=${token}">`);
    expect(res.text).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(await consentOf(leadId)).toBe('granted');
  });

  it('refuses a forged token with a 403', async () => {
    const { leadId } = await subscribedLead();
    const res = await api.call('GET', `/v1/unsubscribe/${leadId}?token=${'A'.repeat(43)}`, { auth: false });
    expect(res).toMatchObject({ status: 403, json: { code: 'invalid_token' } });
  });
});

describe('POST /v1/unsubscribe/{leadId}', () => {
  it('unsubscribes on the RFC 8058 one-click, and again on the page’s form: 200 both times', async () => {
    const { leadId, path } = await subscribedLead();
    const oneClick = await api.call('POST', path, {
      auth: false,
      raw: 'List-Unsubscribe=One-Click',
      headers: ONE_CLICK,
    });
    expect(oneClick.status).toBe(200);
    expect(oneClick.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(oneClick.text).toContain('You are unsubscribed');
    expect(await consentOf(leadId)).toBe('withdrawn');

    // Already unsubscribed: the same answer, by the form (url-encoded), or a client's multipart post.
    const again = await api.call('POST', path, {
      auth: false,
      raw: 'List-Unsubscribe=One-Click',
      headers: ONE_CLICK,
    });
    expect(again.status).toBe(200);
    const boundary = '---FormBoundaryjWmhtjORrn';
    const multipart = await api.call('POST', path, {
      auth: false,
      raw: `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(multipart.status).toBe(200);
    expect(await consentOf(leadId)).toBe('withdrawn');
  });

  it('a link from a record merged into another unsubscribes the survivor too', async () => {
    const tenant = unique();
    const email = { tenant, email: 'hedy@merge.example' };
    const crm = { tenant, externalId: 'crm:9' };
    const form = (address: string) => ({
      type: 'form.submitted',
      form: 'newsletter',
      consent: true,
      profile: { email: address },
    });
    const survivor = await api.call('POST', '/v1/leads/capture', {
      body: { lead: email, command: form(email.email) },
    });
    const absorbed = await api.call('POST', '/v1/leads/capture', {
      body: { lead: crm, command: form(email.email) },
    });
    await api.h.client.merge(email, crm);
    const link = new URL(unsubscribeLinkFor({ baseUrl: api.base, secret: SECRET }, absorbed.json.leadId));
    const res = await api.call('POST', `${link.pathname}${link.search}`, {
      auth: false,
      raw: 'List-Unsubscribe=One-Click',
      headers: ONE_CLICK,
    });
    expect(res.status).toBe(200);
    expect(await consentOf(survivor.json.leadId)).toBe('withdrawn');
  });

  it('refuses a forged or altered token, or another lead’s, with a 403 and changes nothing', async () => {
    const { leadId, path } = await subscribedLead();
    const other = await subscribedLead();
    const token = unsubscribeToken(SECRET, leadId);
    const altered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [
      `/v1/unsubscribe/${leadId}?token=${altered}`,
      `/v1/unsubscribe/${leadId}?token=${unsubscribeToken('another-secret-0123456789', leadId)}`,
      `/v1/unsubscribe/${leadId}?token=${unsubscribeToken(SECRET, other.leadId)}`,
      `/v1/unsubscribe/${leadId}?token=`,
    ]) {
      const res = await api.call('POST', bad, {
        auth: false,
        raw: 'List-Unsubscribe=One-Click',
        headers: ONE_CLICK,
      });
      expect(res, bad).toMatchObject({ status: 403, json: { code: 'invalid_token' } });
    }
    expect(await consentOf(leadId)).toBe('granted');
    expect(await consentOf(other.leadId)).toBe('granted');
    // The real link still works afterwards.
    expect((await api.call('POST', path, { auth: false, raw: '', headers: ONE_CLICK })).status).toBe(200);
  });

  it('answers 404 for a well-signed link to a lead that does not exist', async () => {
    const leadId = LeadClient.keyOf({ tenant: unique(), email: 'nobody@lead.example' }).workflowId;
    const res = await api.call(
      'POST',
      `/v1/unsubscribe/${leadId}?token=${unsubscribeToken(SECRET, leadId)}`,
      {
        auth: false,
        raw: 'List-Unsubscribe=One-Click',
        headers: ONE_CLICK,
      },
    );
    expect(res).toMatchObject({ status: 404, json: { code: 'not_found' } });
  });

  it('answers bad requests with 4xx: no token, a bad lead id, a JSON body', async () => {
    const { leadId, path } = await subscribedLead();
    expect((await api.call('POST', `/v1/unsubscribe/${leadId}`, { auth: false })).status).toBe(400);
    expect((await api.call('POST', '/v1/unsubscribe/not-a-lead?token=x', { auth: false })).status).toBe(400);
    const json = await api.call('POST', path, { auth: false, body: { 'List-Unsubscribe': 'One-Click' } });
    expect(json).toMatchObject({ status: 415, json: { code: 'unsupported_media_type' } });
    expect(await consentOf(leadId)).toBe('granted');
  });

  it('is documented without security, with its 403', async () => {
    const doc = (await api.call('GET', '/openapi.json', { auth: false })).json;
    const route = doc.paths['/v1/unsubscribe/{leadId}'];
    for (const method of ['get', 'post']) {
      expect(route[method].security).toEqual([]);
      expect(Object.keys(route[method].responses)).toEqual(
        expect.arrayContaining(['200', '400', '403', '404']),
      );
    }
    expect(route.post.responses['200'].content).toHaveProperty('text/html');
  });
});

describe('without an unsubscribe secret', () => {
  it('has no unsubscribe routes', async () => {
    const app = await buildApi({ client: new LeadClient(new Client()), apiKeys: ['k'.repeat(32)] });
    try {
      const res = await app.inject({ method: 'POST', url: `/v1/unsubscribe/lead-${'0'.repeat(32)}?token=x` });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('route_not_found');
    } finally {
      await app.close();
    }
  });
});
