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
import { devServerLeads, eventually } from '../support/workflow.js';

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
    expect(summary).toMatchObject({ total: 5, imported: 3, rejected: 2, skipped: 0, consentGranted: 0 });
    expect(summary.consentWithdrawn).toBe(1);

    const ada = await h.client.get({ tenant: t, email: 'ada@analytical.example' });
    expect(ada.stage).toBe('lead');
    // "Unsubscribed from all email: false" is no opt-in: nothing in the file grants consent.
    expect(ada.consent).toBe('unknown');
    expect(ada.state.context.profile).toMatchObject({
      firstName: 'Ada',
      lastName: 'Lovelace',
      company: 'Analytical Engines, Ltd',
      jobTitle: 'CTO',
      sector: 'computer software',
      companySize: 1200,
      annualRevenue: 25_000_000,
      country: 'United Kingdom',
    });
    const grace = await h.client.get({ tenant: t, email: 'grace@cobol.example' });
    expect(grace.consent).toBe('withdrawn');
    expect((await h.client.get({ tenant: t, email: 'margaret@apollo.example' })).consent).toBe('unknown');

    const report = await reportOf(summary.report);
    expect(report.map(({ line, field }) => ({ line, field }))).toEqual([
      { line: 4, field: 'Email' },
      { line: 5, field: 'Number of Employees' },
      { line: 5, field: 'Unsubscribed from all email' },
    ]);
    expect(report[0]?.reason).toBe('expected an email address');
    expect(report[1]?.reason).toBe('expected a number');
    expect(report[2]?.reason).toMatch(/expected one of "true", "yes", "false", "no" or empty/);
    // The rejected row is kept whole, to be fixed and imported again.
    expect(report[1]?.row).toMatchObject({ Email: 'linus@kernel.example', 'Record ID': '54' });
    // Nobody in this file consented: no email went out.
    await new Promise((r) => setTimeout(r, 1000));
    const emails = await readOutbox(h.dataDir, { kind: 'email' });
    expect(emails.filter((e) => e.leadKey.startsWith(`${t}:`))).toEqual([]);
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
    expect(alan).toMatchObject({ stage: 'lead', consent: 'unknown' });
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

    // The two opted-in contacts get their first nurture email; the others none.
    const mine = async () =>
      (await readOutbox(h.dataDir, { kind: 'email' })).filter((e) => e.leadKey.startsWith(`${t}:`));
    const emails = await eventually(async () => {
      const found = await mine();
      expect(found).toHaveLength(2);
      return found;
    });
    expect(emails.map((e) => e.leadKey).sort()).toEqual([
      `${t}:email:opt1@optin.example`,
      `${t}:email:opt2@optin.example`,
    ]);
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
    expect(await mine()).toHaveLength(2);
  });

  it('does not opt in again someone who withdrew consent in leadcycle since', async () => {
    const { h } = leads;
    await h.client.send(
      { tenant: t, email: 'opt2@optin.example' },
      { type: 'consent.unsubscribed', source: 'link' },
    );
    // Another export, where opt2 still says yes (another file: another import, another form update).
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
    expect(summary).toMatchObject({ imported: 1, consentGranted: 0, optInRefused: 1 });
    expect((await h.client.get({ tenant: t, email: 'opt2@optin.example' })).consent).toBe('withdrawn');
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
