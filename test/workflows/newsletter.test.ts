import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { LeadClient, type LeadRef } from '../../src/client/index.js';
import { DAY_MS, DEFAULT_CONFIG, type Effect } from '../../src/machines/index.js';
import { FIT } from '../support/lead.js';
import { startTimeSkippingEnv } from '../support/temporal.js';
import { type LeadHarness, leadHarness } from '../support/workflow.js';

/**
 * The newsletter subscription through the real workflow, activities and outbox, on the time-skipping
 * server: a year of newsletters passes in seconds. Default config: weekly nurture, a monthly
 * newsletter, at most 3 marketing emails in any 30 days.
 */
let env: TestWorkflowEnvironment;
let h: LeadHarness;
let n = 0;

beforeAll(async () => {
  env = await startTimeSkippingEnv();
  h = await leadHarness(env, { searchAttributes: false }); // the test server has none
});
afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

type Send = Extract<Effect, { type: 'content.send' }>;
const newRef = (): LeadRef => ({ tenant: `newsletter-${Date.now()}-${++n}`, email: FIT.email });

/** The marketing emails the real activities wrote to the outbox for this lead. */
async function emailsOf(ref: LeadRef): Promise<Send[]> {
  const { leadKey } = LeadClient.keyOf(ref);
  const records = await readOutbox(h.dataDir, { kind: 'email', leadKey });
  return records.map((r) => (r.payload as { content: Send }).content);
}

const { max, windowDays } = DEFAULT_CONFIG.emailCap;
const busiestWindow = (sent: Send[]) =>
  Math.max(
    0,
    ...sent.map((e) => sent.filter((o) => o.at <= e.at && o.at > e.at - windowDays * DAY_MS).length),
  );

describe('the newsletter subscription on the time-skipping server', () => {
  it('a newsletter subscriber receives newsletters for a year within the cap', async () => {
    const ref = newRef();
    await h.run(async () => {
      const view = await h.client.capture(ref, {
        type: 'form.submitted',
        form: 'newsletter',
        consent: true,
        profile: FIT,
      });
      const start = view.state.context.createdAt;
      await env.sleep(365 * DAY_MS);
      const emails = await emailsOf(ref);
      const issues = emails.filter((e) => e.kind === 'newsletter');
      // Days 0, 30, ... 360: one issue a cadence, none pushed out by nurture.
      expect(issues.length).toBe(13);
      expect(new Set(issues.map((e) => e.item.id)).size).toBe(13);
      expect(issues.every((e) => e.at - start < 365 * DAY_MS)).toBe(true);
      // Nurture fills the rest of the cap, never beyond it, in any window.
      expect(emails.some((e) => e.kind === 'nurture')).toBe(true);
      expect(busiestWindow(emails)).toBeLessThanOrEqual(max);
      expect((await h.client.get(ref)).state.context.newsletter?.subscribedAt).toBe(start);
    });
  });

  it('a lead that used up its family falls back to the newsletter', async () => {
    const ref = newRef();
    await h.run(async () => {
      await h.client.capture(ref, {
        type: 'form.submitted',
        form: 'content_download',
        consent: true,
        profile: FIT,
      });
      await env.sleep(120 * DAY_MS);
      const emails = await emailsOf(ref);
      const discovery = DEFAULT_CONFIG.content.discovery.map((i) => i.id);
      expect(emails.slice(0, discovery.length).map((e) => e.item.id)).toEqual(discovery);
      const fallback = emails.slice(discovery.length);
      expect(fallback.length).toBeGreaterThanOrEqual(2);
      expect(fallback.every((e) => e.kind === 'newsletter')).toBe(true);
      expect(busiestWindow(emails)).toBeLessThanOrEqual(max);
    });
  });
});
