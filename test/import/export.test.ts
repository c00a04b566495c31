/**
 * `leadcycle export` round-trips: leads imported from a HubSpot export, exported as CSV and
 * imported again (the `leadcycle` preset) into another tenant arrive with the same stage, dates,
 * owner, score, profile, consent and first touch. Real dev server, real worker.
 */
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { exportLeads, PRESETS, runImport } from '../../src/import/index.js';
import { devServerLeads } from '../support/workflow.js';

const leads = devServerLeads();
const from = `exp-${Date.now()}`;
const into = `${from}-again`;

const HUBSPOT = `Email,First Name,Company Name,Job Title,Industry,Number of Employees,Lifecycle Stage,Create Date,Became a Sales Qualified Lead Date,HubSpot Score,Contact owner,Last marketing email send date,Unsubscribed from all email,Original Source,Original Source Drill-Down 1
ada@acme.example,Ada,"Acme, Inc.",CTO,COMPUTER_SOFTWARE,250,Sales Qualified Lead,2024-01-10 08:00,2024-02-01 09:30,71,rep-7,2024-11-02 10:00,false,PAID_SEARCH,brand-q1
bob@acme.example,Bob,Acme,Buyer,Retail,40,Lead,2024-03-01,,5,,,true,,
`;

async function csvOf(tenant: string): Promise<{ text: string; leads: number }> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk, _, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  const { h } = leads;
  const summary = await h.run(() => exportLeads({ client: h.client, tenant, out }));
  return { text: Buffer.concat(chunks).toString('utf8'), leads: summary.leads };
}

describe('leadcycle export', () => {
  it('writes a tenant’s leads as CSV that imports back as they were', async () => {
    const { h } = leads;
    const source = (text: string) => ({
      format: 'csv' as const,
      open: () => Readable.from([Buffer.from(text)]),
    });
    const first = await h.run(() =>
      runImport({
        client: h.client,
        source: source(HUBSPOT),
        mapping: PRESETS.hubspot,
        dataDir: h.dataDir,
        tenant: from,
      }),
    );
    expect(first).toMatchObject({ imported: 2, rejected: 0 });

    const exported = await csvOf(from);
    // Only this tenant's leads, every one of them.
    expect(exported.leads).toBe(2);
    const lines = exported.text.trim().split('\n');
    expect(lines[0]).toBe(
      'Email,External ID,First Name,Last Name,Company,Job Title,Sector,Job Function,Country,Employees,Annual Revenue,Stage,Created,Stage Entered,Score,Owner,Last Email,Consent,' +
        'First Touch Source,First Touch Channel,First Touch Campaign,First Touch Form,First Touch UTM Source,First Touch UTM Medium,First Touch UTM Campaign,First Touch UTM Term,First Touch UTM Content',
    );
    expect(lines.find((l) => l.startsWith('ada@'))).toMatch(/,paid search,web,brand-q1,,,,,,$/);
    expect(lines).toHaveLength(3);
    expect(exported.text).toContain('"Acme, Inc."');

    const again = await h.run(() =>
      runImport({
        client: h.client,
        source: source(exported.text),
        mapping: PRESETS.leadcycle,
        dataDir: h.dataDir,
        tenant: into,
      }),
    );
    expect(again).toMatchObject({ imported: 2, rejected: 0, consentWithdrawn: 1 });
    for (const email of ['ada@acme.example', 'bob@acme.example']) {
      const before = await h.client.get({ tenant: from, email });
      const after = await h.client.get({ tenant: into, email });
      expect(after).toMatchObject({
        stage: before.stage,
        stageEnteredAt: before.stageEnteredAt,
        owner: before.owner,
        consent: before.consent,
        imported: { score: before.imported?.score },
      });
      expect(after.touches).toEqual(before.touches);
      expect(after.state.context.profile).toEqual(before.state.context.profile);
      expect(after.state.context.createdAt).toBe(before.state.context.createdAt);
      expect(after.state.context.nurture.lastSentAt).toBe(before.state.context.nurture.lastSentAt);
    }
    const ada = await h.client.get({ tenant: into, email: 'ada@acme.example' });
    expect(ada).toMatchObject({ stage: 'sql', owner: 'rep-7', stageEnteredAt: '2024-02-01T09:30:00.000Z' });
    // HubSpot's original source, its campaign from drill-down 1, is the first touch both times.
    const paidSearch = { source: 'paid search', channel: 'web', campaign: 'brand-q1' };
    expect(ada.touches).toEqual({ first: paidSearch, last: paidSearch });
    expect((await h.client.get({ tenant: into, email: 'bob@acme.example' })).touches).toBeUndefined();
    // And the second export equals the first, but for nothing.
    expect((await csvOf(into)).text.split('\n').slice(1).sort()).toEqual(
      exported.text.split('\n').slice(1).sort(),
    );
  });
});
