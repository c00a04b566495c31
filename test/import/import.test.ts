/**
 * The bulk import against the real dev server and a real worker: HubSpot's and Mautic's exports as
 * those tools write them, a mapping file, the report of rejected rows, consent only from its column,
 * and a resumed import that sends nothing twice (the outbox says what went out).
 */
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/outbox.js';
import {
  ImportError,
  type ImportMapping,
  type ImportSource,
  loadMappingFile,
  PRESETS,
  runImport,
  stateFileOf,
} from '../../src/import/index.js';
import { devServerLeads } from '../support/workflow.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const fileSource = (name: string, format: 'csv' | 'ndjson' = 'csv'): ImportSource => ({
  format,
  open: () => createReadStream(fixture(name)),
});
const textSource = (text: string, format: 'csv' | 'ndjson' = 'csv'): ImportSource => ({
  format,
  open: () => Readable.from([Buffer.from(text)]),
});

const leads = devServerLeads();
const tenant = `imp-${Date.now()}`;

async function reportOf(file: string | null) {
  expect(file).not.toBeNull();
  return (await readFile(file as string, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { line: number; field: string; reason: string; row: unknown });
}

describe('HubSpot export (--preset hubspot)', () => {
  const t = `${tenant}-hs`;
  it('imports the valid rows, rejects the others with their line and column, and takes only an opt-out as consent', async () => {
    const { h } = leads;
    const summary = await h.run(() =>
      runImport({
        client: h.client,
        source: fileSource('hubspot-contacts.csv'),
        mapping: PRESETS.hubspot,
        dataDir: h.dataDir,
        tenant: t,
      }),
    );
    expect(summary).toMatchObject({ total: 6, imported: 3, rejected: 3, skipped: 0, consentGranted: 0 });
    expect(summary.consentWithdrawn).toBe(1);

    // The stage, dates, score and owner HubSpot recorded, as in the file; no handoff replayed.
    const ada = await h.client.get({ tenant: t, email: 'ada@analytical.example' });
    expect(ada).toMatchObject({
      stage: 'mql',
      owner: 'owner@acme.example',
      stageEnteredAt: '2024-04-15T16:30:00.000Z',
      reason: 'lead.imported',
      imported: { tool: 'hubspot', score: 62 },
    });
    expect(ada.state.context.createdAt).toBe(Date.parse('2024-03-01T09:12:00Z'));
    expect(ada.state.context.sales.slaStartedAt).toBeNull();
    // "Unsubscribed from all email: false" is no opt-in: nothing in the file grants consent.
    expect(ada.consent).toBe('unknown');
    expect(ada.state.context.profile).toMatchObject({
      firstName: 'Ada',
      lastName: 'Lovelace',
      company: 'Analytical Engines, Ltd',
      jobTitle: 'CTO',
      // HubSpot's COMPUTER_SOFTWARE in the personas' words.
      sector: 'software',
      companySize: 1200,
      annualRevenue: 25_000_000,
      country: 'United Kingdom',
    });
    // Custom properties kept; HubSpot's last email counts for the cadence.
    expect(ada.state.context.imported?.properties).toEqual({
      'Record ID': '51',
      'Phone Number': '+44 20 7946 0000',
      'Lead Status': 'IN_PROGRESS',
    });
    expect(ada.state.context.nurture.lastSentAt).toBe(Date.parse('2024-11-20T08:00:00Z'));
    const grace = await h.client.get({ tenant: t, email: 'grace@cobol.example' });
    expect(grace).toMatchObject({ stage: 'lead', consent: 'withdrawn', imported: { score: 14 } });
    const margaret = await h.client.get({ tenant: t, email: 'margaret@apollo.example' });
    // A customer who fits no persona (aerospace, unknown job function) comes in as a customer.
    expect(margaret).toMatchObject({
      stage: 'customer',
      consent: 'unknown',
      stageEnteredAt: '2024-09-30T12:00:00.000Z',
      owner: null,
    });
    expect(margaret.fitScore).toBeLessThan(75);

    const report = await reportOf(summary.report);
    expect(report.map(({ line, field }) => ({ line, field }))).toEqual([
      { line: 4, field: 'Email' },
      { line: 5, field: 'Number of Employees' },
      { line: 5, field: 'Became a Lead Date' },
      { line: 5, field: 'Unsubscribed from all email' },
      { line: 7, field: 'Lifecycle Stage' },
    ]);
    expect(report[0]?.reason).toBe('expected an email address');
    expect(report[1]?.reason).toBe('expected a number');
    expect(report[2]?.reason).toMatch(/^expected a date/);
    expect(report[3]?.reason).toMatch(/expected one of "true", "yes", "false", "no" or empty/);
    expect(report[4]?.reason).toMatch(/^unknown stage "Evangelist at large": expected one of "Subscriber"/);
    // The rejected row is kept whole, to be fixed and imported again.
    expect(report[1]?.row).toMatchObject({ Email: 'linus@kernel.example', 'Record ID': '54' });
    // Nobody in this file consented, and an imported MQL is no new handoff: nothing went out.
    await new Promise((r) => setTimeout(r, 1000));
    const sent = await readOutbox(h.dataDir);
    expect(sent.filter((e) => e.leadKey.startsWith(`${t}:`))).toEqual([]);
  });
});

describe('Mautic export (--preset mautic)', () => {
  const t = `${tenant}-mt`;
  it('imports by the field aliases Mautic writes, and every contact without consent', async () => {
    const { h } = leads;
    const summary = await h.run(() =>
      runImport({
        client: h.client,
        source: fileSource('mautic-contacts.csv'),
        mapping: PRESETS.mautic,
        dataDir: h.dataDir,
        tenant: t,
        report: join(h.dataDir, 'mautic-rejected.csv'),
      }),
    );
    expect(summary).toMatchObject({
      total: 3,
      imported: 2,
      rejected: 1,
      consentGranted: 0,
      consentWithdrawn: 0,
    });
    const alan = await h.client.get({ tenant: t, email: 'alan@bletchley.example' });
    // Mautic's points are its score, kept on its own scale; leadcycle's own score starts afresh.
    expect(alan).toMatchObject({
      stage: 'lead',
      consent: 'unknown',
      score: 0,
      imported: { tool: 'mautic', score: 15 },
    });
    expect(alan.state.context.profile).toMatchObject({
      firstName: 'Alan',
      lastName: 'Turing',
      company: 'Bletchley',
      jobTitle: 'Cryptanalyst',
    });
    expect((await h.client.get({ tenant: t, email: 'katherine@langley.example' })).consent).toBe('unknown');
    // A CSV report, as asked by its extension.
    const csv = await readFile(join(h.dataDir, 'mautic-rejected.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe('line,field,reason,row');
    expect(csv.split('\n')[1]).toMatch(/^4,email,required \(the cell is empty\),/);
  });
});

describe('a mapping file with a consent column, resumed', () => {
  const t = `${tenant}-opt`;
  let mapping: ImportMapping;

  it('imports, and a re-run (with its state, then without) sends nothing twice', async () => {
    const { h } = leads;
    mapping = await loadMappingFile(fixture('optin-mapping.json'));
    const run = () =>
      h.run(() =>
        runImport({
          client: h.client,
          source: fileSource('optin-contacts.ndjson', 'ndjson'),
          mapping,
          dataDir: h.dataDir,
          tenant: t,
          concurrency: 2,
        }),
      );
    const first = await run();
    expect(first).toMatchObject({
      total: 6,
      imported: 4,
      rejected: 2,
      consentGranted: 2,
      consentWithdrawn: 1,
    });
    const report = await reportOf(first.report);
    expect(report.map(({ line, field }) => ({ line, field }))).toEqual([
      { line: 5, field: 'employees' },
      { line: 6, field: '(row)' },
    ]);
    expect(report[1]?.reason).toMatch(/^not JSON/);

    // Quiet by default: the two opted-in contacts get no email at import, and their first sends
    // wait for their own slots in the ramp (an hour to importRampDays after the import).
    const mine = async () =>
      (await readOutbox(h.dataDir, { kind: 'email' })).filter((e) => e.leadKey.startsWith(`${t}:`));
    await new Promise((r) => setTimeout(r, 1000));
    expect(await mine()).toEqual([]);
    const firstSends = await Promise.all(
      ['opt1@optin.example', 'opt2@optin.example'].map(async (email) => {
        const view = await h.client.get({ tenant: t, email });
        expect(view.consent).toBe('granted');
        const importedAt = Date.parse(view.imported?.at ?? '');
        const send = Date.parse(view.next.find((d) => d.event === 'tick.nurture')?.at ?? '');
        expect(send - importedAt).toBeGreaterThanOrEqual(60 * 60 * 1000);
        expect(send - importedAt).toBeLessThanOrEqual(14 * 24 * 60 * 60 * 1000);
        return send;
      }),
    );
    expect(new Set(firstSends).size).toBe(2);
    expect((await h.client.get({ tenant: t, email: 'opt3@optin.example' })).consent).toBe('unknown');
    expect((await h.client.get({ tenant: t, email: 'opt5@optin.example' })).consent).toBe('withdrawn');
    const before = await h.client.get({ tenant: t, email: 'opt1@optin.example' });

    // Resumed with its state: every row is skipped, nothing is sent.
    const second = await run();
    expect(second).toMatchObject({ id: first.id, total: 6, imported: 0, rejected: 0, skipped: 6 });
    // The report still lists every rejected row of the import.
    expect(await reportOf(second.report)).toEqual(report);

    // Its state lost (a crash before it was written): every row goes again, with the same update
    // ids, and Temporal applies none of them a second time.
    await rm(stateFileOf(h.dataDir, first.id));
    const third = await run();
    expect(third).toMatchObject({ imported: 4, rejected: 2, skipped: 0 });
    const after = await h.client.get({ tenant: t, email: 'opt1@optin.example' });
    expect(after.score).toBe(before.score);
    expect(after.state.context.engagement.points).toBe(before.state.context.engagement.points);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await mine()).toEqual([]);
  });

  it('imports no contact leadcycle knows already, so an older export opts in no one who withdrew since', async () => {
    const { h } = leads;
    await h.client.send(
      { tenant: t, email: 'opt2@optin.example' },
      { type: 'consent.unsubscribed', source: 'link' },
    );
    // Another export, where opt2 still says yes (another file: another import).
    const text = '{"email":"opt2@optin.example","first_name":"Two again","marketing_opt_in":"yes"}\n';
    const summary = await h.run(() =>
      runImport({
        client: h.client,
        source: textSource(text, 'ndjson'),
        mapping,
        dataDir: h.dataDir,
        tenant: t,
      }),
    );
    expect(summary).toMatchObject({ imported: 0, rejected: 1, consentGranted: 0 });
    const report = await reportOf(summary.report);
    expect(report[0]).toMatchObject({ line: 1, field: '(lead)' });
    expect(report[0]?.reason).toMatch(/lead\.imported is not allowed in stage lead/);
    const opt2 = await h.client.get({ tenant: t, email: 'opt2@optin.example' });
    expect(opt2.consent).toBe('withdrawn');
    expect(opt2.state.context.profile.firstName).toBe('Two');
  });
});

describe('files the import refuses before sending anything', () => {
  it('names a missing key column, and a CSV that does not parse', async () => {
    const { h } = leads;
    const t = `${tenant}-bad`;
    const missing = runImport({
      client: h.client,
      source: textSource('First Name,Last Name\nAda,Lovelace\n'),
      mapping: PRESETS.hubspot,
      dataDir: h.dataDir,
      tenant: t,
    });
    await expect(missing).rejects.toBeInstanceOf(ImportError);
    await expect(missing).rejects.toMatchObject({ code: 'missing_column', issues: [{ path: ['Email'] }] });
    const broken = runImport({
      client: h.client,
      source: textSource('Email,First Name\nok@x.example,Ok\n"bad@x.example,Bad\n'),
      mapping: PRESETS.hubspot,
      dataDir: h.dataDir,
      tenant: t,
    });
    await expect(broken).rejects.toMatchObject({ code: 'unreadable_file' });
    // Refused on the first pass: not even the good row was sent.
    await expect(h.client.get({ tenant: t, email: 'ok@x.example' })).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});
