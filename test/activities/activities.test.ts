import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activitiesFromEnv, PermanentFailure, readOutbox } from '../../src/activities/index.js';
import { openAnalyticsStore, readStageChanges } from '../../src/analytics/index.js';
import { contentSend, handoffLead, salesHandoff, stageChanged, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let wired: ReturnType<typeof activitiesFromEnv>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  wired = activitiesFromEnv({ LEADCYCLE_DATA_DIR: dir });
});
afterEach(async () => {
  await wired.close();
  await cleanup();
});

const base = (seq: number) => ({ idempotencyKey: `wf-1/${seq}`, workflowId: 'wf-1', leadKey: 'lead-1' });

describe('the default activities (outbox and SQLite analytics store)', () => {
  it('records a stage change once per key, keeping the effect as the machine emitted it', async () => {
    const { recordStageChange } = wired.activities;
    const change = stageChanged({ from: 'mql', to: 'sql', cause: 'sales.accepted' });
    expect(await recordStageChange({ ...base(1), change })).toEqual({ recorded: true });
    expect(await recordStageChange({ ...base(1), change })).toEqual({ recorded: false });
    expect(await recordStageChange({ ...base(2), change: stageChanged() })).toEqual({ recorded: true });

    const changes = await readStageChanges(dir);
    expect(changes.map((c) => [c.key, c.seq, c.to])).toEqual([
      ['wf-1/1', 1, 'sql'],
      ['wf-1/2', 2, 'mql'],
    ]);
    expect(changes[0]).toMatchObject({ leadId: 'wf-1', from: 'mql', to: 'sql', cause: 'sales.accepted' });
    expect(await readStageChanges(dir, { leadId: 'other' })).toEqual([]);
  });

  it('refuses a stage change whose key carries no sequence number, for good', async () => {
    const error = await wired.activities
      .recordStageChange({ ...base(1), idempotencyKey: 'wf-1#1', change: stageChanged() })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'bad_effect_key', nonRetryable: true });
  });

  it('journals a lead once per entry, without the personal data', async () => {
    const at = Date.UTC(2026, 0, 1);
    const entries = [
      {
        seq: 1,
        event: {
          type: 'form.submitted' as const,
          at,
          form: 'contact' as const,
          consent: true,
          profile: {
            email: 'ada@acme.example',
            firstName: 'Ada',
            lastName: 'Lovelace',
            company: 'Acme',
            companySize: 120,
            jobFunction: 'it',
          },
        },
      },
      {
        seq: 2,
        event: {
          type: 'sales.rejected' as const,
          at: at + 1,
          reason: 'not_ready' as const,
          note: 'Ada was rude',
        },
      },
    ];
    const input = { workflowId: 'wf-1', leadKey: 'lead-1', createdAt: at, entries };
    expect(await wired.activities.recordJournal(input)).toEqual({ recorded: 2 });
    expect(await wired.activities.recordJournal(input)).toEqual({ recorded: 0 });
    const store = openAnalyticsStore(dir);
    const journal = [];
    for await (const lead of store.journal()) journal.push(lead);
    await store.close();
    expect(journal).toHaveLength(1);
    expect(journal[0]?.lead).toEqual({ leadId: 'wf-1', createdAt: at });
    const text = JSON.stringify(journal);
    for (const secret of ['ada@acme.example', 'Ada', 'Lovelace', 'Acme', 'rude'])
      expect(text).not.toContain(secret);
    expect(journal[0]?.events[0]).toMatchObject({ profile: { companySize: 120, jobFunction: 'it' } });
  });

  it('sends content to the outbox once per key, with the same Message-ID on the retry', async () => {
    const { sendContent } = wired.activities;
    const input = { ...base(3), to: { email: 'ada@acme.example', firstName: 'Ada' }, content: contentSend() };
    const first = await sendContent(input);
    expect(first).toEqual({
      delivered: true,
      messageId: expect.stringMatching(/^<lc\.[0-9a-f]{32}@localhost>$/),
    });
    expect(await sendContent(input)).toEqual({ delivered: false, messageId: first.messageId });

    const [record, ...rest] = await readOutbox(dir, { kind: 'email' });
    expect(rest).toEqual([]);
    expect(record).toMatchObject({
      key: 'wf-1/3',
      kind: 'email',
      workflowId: 'wf-1',
      leadKey: 'lead-1',
      payload: {
        via: 'outbox',
        content: contentSend(),
        subject: 'Evaluation guide #2',
        messageId: first.messageId,
      },
    });
  });

  it('hands off to sales once per key', async () => {
    const { handOffToSales } = wired.activities;
    const input = { ...base(4), lead: handoffLead, handoff: salesHandoff() };
    expect(await handOffToSales(input)).toEqual({ delivered: true });
    expect(await handOffToSales(input)).toEqual({ delivered: false });
    const records = await readOutbox(dir, { kind: 'crm' });
    expect(records).toHaveLength(1);
    expect(records[0]?.payload).toMatchObject({ via: 'outbox', lead: handoffLead, handoff: salesHandoff() });
  });

  it('remembers done keys across a worker restart', async () => {
    const input = { ...base(5), to: { email: 'ada@acme.example' }, content: contentSend() };
    await wired.activities.sendContent(input);
    await wired.activities.recordStageChange({ ...base(6), change: stageChanged() });
    await wired.close();

    wired = activitiesFromEnv({ LEADCYCLE_DATA_DIR: dir });
    expect((await wired.activities.sendContent(input)).delivered).toBe(false);
    expect(await wired.activities.recordStageChange({ ...base(6), change: stageChanged() })).toEqual({
      recorded: false,
    });
    expect(await readOutbox(dir)).toHaveLength(1);
  });

  it('refuses an invalid recipient for good', async () => {
    const error = await wired.activities
      .sendContent({ ...base(7), to: { email: 'not an address' }, content: contentSend() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentFailure);
    expect(error).toMatchObject({ code: 'recipient_invalid', nonRetryable: true });
    expect(await readOutbox(dir)).toEqual([]);
  });

  it('describes where the effects go', async () => {
    expect(wired.describe()).toBe(
      [
        `content: outbox ${join(dir, 'outbox.jsonl')}`,
        `CRM handoff: outbox ${join(dir, 'outbox.jsonl')}`,
        `stage changes and journal: ${join(dir, 'leadcycle.db')}`,
      ].join('; '),
    );
  });
});
