/**
 * A client of the HTTP API written against nothing but the types openapi-typescript generates from
 * docs/openapi.json (`./api.js`, made by test/api/openapi.test.ts next to a copy of this file) and
 * openapi-fetch. The test type-checks it on its own tsconfig (so it is left out of the project's),
 * runs it against a real API, and reads what it prints.
 *
 *   node main.js <base URL> <API key> <tenant>
 */
import createClient from 'openapi-fetch';
import type { paths } from './api.js';

const [base, key, tenant] = process.argv.slice(2);
if (!base || !key || !tenant) throw new Error('usage: node main.js <base URL> <API key> <tenant>');

const api = createClient<paths>({ baseUrl: base, headers: { authorization: `Bearer ${key}` } });

/** Asks again until `ready` holds: listings and reports catch up with the leads a moment later. */
async function until<T>(ask: () => Promise<T>, ready: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await ask();
    if (ready(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const email = `ada@${tenant}.example`;
const captured = await api.POST('/v1/leads/capture', {
  params: { header: { 'idempotency-key': `capture-${tenant}` } },
  body: {
    lead: { tenant, email },
    command: {
      type: 'form.submitted',
      form: 'content_download',
      consent: true,
      profile: { email, companySize: 250, sector: 'software', jobFunction: 'it' },
    },
  },
});
if (!captured.data) throw new Error(`capture: ${captured.response.status}`);
const { leadId } = captured.data;

const got = await api.GET('/v1/leads/{leadId}', { params: { path: { leadId } } });
const looked = await api.POST('/v1/leads/lookup', { body: { lead: { tenant, email } } });
const listed = await until(
  () => api.GET('/v1/leads', { params: { query: { stage: 'lead', limit: 1000 } } }),
  (page) => page.data?.leads.some((lead) => lead.leadId === leadId) ?? false,
);
const report = await until(
  () => api.GET('/v1/reports/stages', { params: { query: { tenant } } }),
  (answer) => (answer.data?.stages.lead ?? 0) > 0,
);
const missing = await api.GET('/v1/leads/{leadId}', {
  params: { path: { leadId: `lead-${'0'.repeat(32)}` } },
});

console.log(
  JSON.stringify({
    captured: { status: captured.response.status, leadId, stage: captured.data.stage },
    got: { status: got.response.status, leadId: got.data?.leadId, consent: got.data?.consent },
    looked: { status: looked.response.status, leadId: looked.data?.leadId },
    listed: {
      status: listed.response.status,
      found: listed.data?.leads.some((lead) => lead.leadId === leadId) ?? false,
    },
    report: { status: report.response.status, leads: report.data?.stages.lead, total: report.data?.total },
    missing: { status: missing.response.status, error: missing.error !== undefined },
  }),
);
