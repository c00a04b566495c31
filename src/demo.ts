import type { LeadClient, LeadRef } from './client/index.js';
import { DAY_MS, type LeadCommandInput, type LeadcycleConfigInput, type LeadView } from './machines/index.js';

/**
 * Demo leads for a newcomer to watch in the Temporal UI. The demo runs on a FAST CLOCK: its config
 * turns days and hours into seconds, so nurture, the sales SLA and the re-nurture cooldown all
 * happen within a minute or two. Never use this config for real leads.
 */
const seconds = (s: number) => (s * 1000) / DAY_MS; // in days
export const DEMO_CONFIG: LeadcycleConfigInput = {
  nurtureCadenceDays: seconds(8),
  newsletterCadenceDays: seconds(15),
  emailCap: { max: 3, windowDays: seconds(60) },
  salesSlaHours: seconds(15) * 24,
  renurtureCooldownDays: seconds(20),
  decayHalfLifeDays: seconds(300),
  decayTickDays: seconds(20),
};

const pause = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000));

type Step = [afterSeconds: number, command: LeadCommandInput];

const profile = (first: string, extra: object = {}) => ({
  email: `${first.toLowerCase()}@demo.example`,
  firstName: first,
  company: `${first} & Co`,
  companySize: 300,
  sector: 'software',
  jobFunction: 'it',
  ...extra,
});
/** A content download, from where the lead came (the dashboard's attribution reads it). */
const form = (first: string, source: string, extra: object = {}): LeadCommandInput => ({
  type: 'form.submitted',
  form: 'content_download',
  consent: true,
  profile: profile(first, extra),
  touch: { source, campaign: 'demo-launch' },
});
const BANT = { budget: true, authority: true, need: true, timelineMonths: 3 };

/** Six leads, each a story from docs/domain.md: "Where the rules are exercised". */
const STORIES: Array<{ name: string; story: string; steps: Step[] }> = [
  {
    name: 'Ada',
    story: 'the whole funnel: visitor to customer',
    steps: [
      [
        0,
        { type: 'visit', channel: 'web', page: '/pricing', touch: { source: 'google', utm_medium: 'cpc' } },
      ],
      [2, form('Ada', 'google')],
      [3, { type: 'engagement', kind: 'demo_request' }],
      [3, { type: 'engagement', kind: 'webinar_attended' }],
      [3, { type: 'bant.updated', bant: BANT }],
      [3, { type: 'sales.accepted', owner: 'rep-alice' }],
      [4, { type: 'proposal.sent', amount: 24_000 }],
      [4, { type: 'deal.won', amount: 24_000 }],
    ],
  },
  {
    name: 'Blaise',
    story: 'an MQL sales never accepts: the SLA escalates, then the lead goes back to nurture',
    steps: [
      [1, form('Blaise', 'linkedin')],
      [2, { type: 'engagement', kind: 'quote_request' }],
      [2, { type: 'engagement', kind: 'webinar_attended' }],
    ],
  },
  {
    name: 'Claude',
    story: 'a premature offer: lost for timing, re-nurtured, qualifies again after the cooldown',
    steps: [
      [2, form('Claude', 'google')],
      [2, { type: 'engagement', kind: 'demo_request' }],
      [2, { type: 'engagement', kind: 'pricing_page' }],
      [2, { type: 'engagement', kind: 'webinar_attended' }],
      [2, { type: 'bant.updated', bant: BANT }],
      [2, { type: 'sales.accepted', owner: 'rep-bob' }],
      [3, { type: 'proposal.sent', amount: 9_000 }],
      [3, { type: 'deal.lost', reason: 'timing', note: 'budget opens next quarter' }],
      [25, { type: 'engagement', kind: 'demo_request' }],
      [2, { type: 'engagement', kind: 'quote_request' }],
    ],
  },
  {
    name: 'Dora',
    story: 'a competitor: disqualified',
    steps: [
      [3, form('Dora', 'trade-show', { company: 'Rival Inc' })],
      [3, { type: 'disqualify', reason: 'competitor' }],
    ],
  },
  {
    name: 'Emil',
    story: 'a nurtured lead: emails every 8 s, at most 3 a minute, then an unsubscribe',
    steps: [
      [1, form('Emil', 'newsletter', { jobFunction: 'finance' })],
      [40, { type: 'consent.unsubscribed', doNotContact: false }],
    ],
  },
  {
    name: 'Fay',
    story: 'an anonymous visitor, known only by a cookie id',
    steps: [
      [1, { type: 'visit', channel: 'social', page: '/blog/lead-scoring' }],
      [5, { type: 'visit', channel: 'web', page: '/pricing' }],
    ],
  },
];

export interface DemoOptions {
  client: LeadClient;
  log: (line: string) => void;
  /** Tenant for this demo run; each run gets fresh leads. */
  tenant?: string;
  /** How long each story keeps reporting timer-driven changes. */
  watchSeconds?: number;
}

function describe(view: LeadView): string {
  return `${view.stage} (score ${view.score}, ${view.temperature}, ${view.buyingStage}, consent ${view.consent})`;
}

/** Plays every story at once; resolves when all are told (their timers keep running afterwards). */
export async function runDemo({
  client,
  log,
  tenant = `demo-${Date.now()}`,
  watchSeconds = 75,
}: DemoOptions): Promise<void> {
  log(`demo: 6 leads in tenant ${tenant}, on a FAST CLOCK (days and hours pass in seconds)`);
  await Promise.all(
    STORIES.map(async ({ name, story, steps }) => {
      const ref: LeadRef =
        name === 'Fay'
          ? { tenant, externalId: 'cookie-7f3a' }
          : { tenant, email: `${name.toLowerCase()}@demo.example` };
      log(`demo: ${name} — ${story}`);
      let last = '';
      const started = Date.now();
      for (const [after, command] of steps) {
        await pause(after);
        try {
          const view = await client.capture(ref, command);
          const now = describe(view);
          if (now !== last) log(`demo: ${name.padEnd(6)} ${command.type.padEnd(20)} → ${now}`);
          last = now;
        } catch (err) {
          log(`demo: ${name.padEnd(6)} ${command.type.padEnd(20)} refused: ${(err as Error).message}`);
        }
      }
      // Then watch what the lead's own timers do: SLA escalation, cooldowns, nurture.
      while (Date.now() - started < watchSeconds * 1000) {
        await pause(2);
        const view = await client.get(ref);
        // Only stage changes: score decay and nurture sends would drown the story.
        if (!last.startsWith(`${view.stage} `))
          log(`demo: ${name.padEnd(6)} ${'(timer)'.padEnd(20)} → ${describe(view)}`);
        last = describe(view);
      }
    }),
  );
  log('demo: done; the leads keep living in the worker (nurture, newsletter) — see them in the UI');
}
