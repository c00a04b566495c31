/**
 * The simulator's throwaway outside world: the real activities (outbox sender, outbox CRM, the
 * SQLite analytics store) over a fresh temp directory, under a lead id secret made for this run.
 * Nothing a simulation does reaches the deployment's data dir, SMTP server or CRM webhook: no
 * setting is read, and the directory is removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createActivities,
  DEFAULT_MAIL_FROM,
  type LeadActivities,
  Outbox,
  OutboxCrm,
  OutboxSender,
} from '../activities/index.js';
import { openAnalyticsStore } from '../analytics/sqlite/index.js';
import { LeadIds } from '../client/lead-key.js';

export interface Sandbox {
  /** The temp directory (0700, from mkdtemp): outbox.jsonl, leadcycle.db. */
  dataDir: string;
  ids: LeadIds;
  activities: LeadActivities;
  outbox: Outbox;
  /** Closes the store and the outbox and removes the directory. */
  close(): Promise<void>;
}

export async function openSandbox(): Promise<Sandbox> {
  const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-simulation-'));
  const ids = new LeadIds(randomBytes(32).toString('base64url'));
  const outbox = new Outbox(dataDir);
  const sender = new OutboxSender(outbox, {
    from: DEFAULT_MAIL_FROM,
    unsubscribeUrl: null,
    unsubscribeLink: null,
  });
  const crm = new OutboxCrm(outbox);
  const analytics = openAnalyticsStore(dataDir);
  const activities = createActivities({ outbox, sender, crm, analytics, leadIds: ids });
  let closing: Promise<void> | undefined;
  return {
    dataDir,
    ids,
    activities,
    outbox,
    close: () => {
      closing ??= (async () => {
        await Promise.all([sender.close(), crm.close(), analytics.close()]);
        await outbox.close();
        await rm(dataDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
