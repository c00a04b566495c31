/**
 * Custom search attributes for lead workflows.
 *
 * Imported by workflow code (upsertSearchAttributes) as well as by the server
 * launcher (registration), so this module must stay free of Node imports to
 * remain usable inside the workflow sandbox.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const LeadSearchAttributes = {
  stage: defineSearchAttributeKey('LeadStage', SearchAttributeType.KEYWORD),
  score: defineSearchAttributeKey('LeadScore', SearchAttributeType.INT),
  temperature: defineSearchAttributeKey('LeadTemperature', SearchAttributeType.KEYWORD),
  buyingStage: defineSearchAttributeKey('LeadBuyingStage', SearchAttributeType.KEYWORD),
  owner: defineSearchAttributeKey('LeadOwner', SearchAttributeType.KEYWORD),
  /** An SQL or opportunity sales left untouched (time ageing): `LeadStale = true`. */
  stale: defineSearchAttributeKey('LeadStale', SearchAttributeType.BOOL),
  /** The config version the lead runs (no personal data): `leadcycle config status` counts by it. */
  configVersion: defineSearchAttributeKey('LeadConfigVersion', SearchAttributeType.INT),
} as const;

/** Every key above, in registration order. */
export const ALL_LEAD_SEARCH_ATTRIBUTES = Object.values(LeadSearchAttributes);
