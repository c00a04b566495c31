import type { ContentFamily, ContentItem } from './config.js';
import type { Touch } from './touch.js';
import type { BuyingStage, ConsentSource, ConsentState, Stage, Temperature } from './vocabulary.js';

/**
 * What the machine asks the outside world to do. The machine emits these; the workflow carries them
 * out as activities, so the machine stays pure and every effect is visible in its transition result.
 */
export type Effect =
  | {
      type: 'stage.changed';
      from: Stage | null;
      to: Stage;
      at: number;
      /** The event that caused the change, and its reason when it carries one. */
      cause: string;
      reason: string | null;
      /** Into an opportunity or a customer: the deal's amount, when one was given. */
      amount?: number;
      /** The lead's first and last touch at the change, once it has one (attribution). */
      firstTouch?: Touch;
      lastTouch?: Touch;
      /**
       * The sales owner, whenever the lead has one: on the change into an SQL (from `sales.accepted`),
       * an opportunity or a customer, and on the change out of them. A sales rep's identifier (an
       * employee, not the lead), for the SLA per owner; the journal redacts it.
       */
      owner?: string;
    }
  | {
      type: 'content.send';
      kind: 'nurture' | 'newsletter';
      family: ContentFamily;
      buyingStage: BuyingStage;
      item: ContentItem;
      at: number;
    }
  | {
      type: 'sales.handoff';
      /** Sales must accept before this instant, or the SLA escalates. */
      slaDeadline: number;
      escalation: boolean;
      score: number;
      temperature: Temperature;
      buyingStage: BuyingStage;
      at: number;
    }
  | {
      /** The person asked not to be contacted: the CRM is told once, so sales stops too. */
      type: 'sales.do_not_contact';
      at: number;
    }
  | {
      /**
       * An SQL or opportunity sales left untouched for `staleAfterDays`: its owner is reminded once
       * through the CRM, and the lead is flagged stale until the next sales activity.
       */
      type: 'sales.stale_reminder';
      owner: string | null;
      stage: Stage;
      /** The last sales activity, and how many days ago it was. */
      lastSalesActivityAt: number;
      quietDays: number;
      at: number;
    }
  | {
      /** The proof of consent: every grant, withdrawal, do-not-contact and resubscribe, with its source. */
      type: 'consent.changed';
      consent: ConsentState;
      doNotContact: boolean;
      source: ConsentSource;
      at: number;
    };

export type EffectType = Effect['type'];
