import { z } from 'zod';

/**
 * A touch: where a capture or a visit came from (README: "Touches (attribution)"). Marketing labels
 * only, never personal data: each is short, and its charset leaves no room for an email address
 * (no `@`), so none names a person. They stay out of search attributes; the analytics keep them.
 */

/** Where a visit or a contact happened. */
export const CHANNELS = ['web', 'trade_show', 'social', 'inbound_call', 'referral', 'other'] as const;
export const ChannelSchema = z.enum(CHANNELS);
export type Channel = z.infer<typeof ChannelSchema>;

const LABEL_MAX = 100;
const LABEL_MESSAGE =
  "expected a marketing label: letters of any script, digits, spaces and _ - . : / + & ( ) [ ] , ' ’ # % ! ? | – —, starting with a letter, a digit, ( [ or # (no @: never personal data)";

/**
 * Campaign names as HubSpot and Mautic users write them (`Café Launch (EMEA) – Q3`, `Partners &
 * Resellers`). Never `@`, so no email address fits; no `< > " = ;`, backslashes or controls. The first
 * character is no `+ - =`, so a spreadsheet opening an exported label reads no formula.
 */
const LABEL_PATTERN = /^[\p{L}\p{N}([#][\p{L}\p{M}\p{N} _.:/+\-&()[\],'’#%!?|–—]*$/u;

/** One label: trimmed, NFC (one spelling of `é`, so the attribution report counts it once), 1 to 100 characters. */
export const TouchLabelSchema = z
  .string()
  .trim()
  .normalize('NFC')
  .min(1)
  .max(LABEL_MAX)
  .regex(LABEL_PATTERN, LABEL_MESSAGE);

export const TouchSchema = z
  .object({
    source: TouchLabelSchema.optional().describe('Who sent the lead: a site, a partner, an event (`google`)'),
    channel: ChannelSchema.optional(),
    campaign: TouchLabelSchema.optional().describe('The campaign (`spring-launch`)'),
    form: TouchLabelSchema.optional().describe('Which form, by its own name (`pricing-page-demo`)'),
    utm_source: TouchLabelSchema.optional(),
    utm_medium: TouchLabelSchema.optional(),
    utm_campaign: TouchLabelSchema.optional(),
    utm_term: TouchLabelSchema.optional(),
    utm_content: TouchLabelSchema.optional(),
  })
  .strict()
  .refine((touch) => Object.values(touch).some((v) => v !== undefined), 'expected at least one field')
  .describe('Where the capture or visit came from: source, channel, campaign, form and UTM parameters');
export type Touch = z.infer<typeof TouchSchema>;

/** A lead's attribution: its first touch (set once) and its last (each capture or visit with a touch). */
export interface Touches {
  first: Touch;
  last: Touch;
}

/** The dimensions the attribution report groups by, read from a touch (the UTM value when the label is absent). */
export const TOUCH_DIMENSIONS = ['source', 'channel', 'campaign', 'form'] as const;
export type TouchDimension = (typeof TOUCH_DIMENSIONS)[number];

export function touchValue(touch: Touch | null | undefined, by: TouchDimension): string | null {
  if (!touch) return null;
  switch (by) {
    case 'source':
      return touch.source ?? touch.utm_source ?? null;
    case 'campaign':
      return touch.campaign ?? touch.utm_campaign ?? null;
    case 'channel':
      return touch.channel ?? null;
    case 'form':
      return touch.form ?? null;
  }
}
