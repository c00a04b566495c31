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
  'expected a marketing label: letters, digits, spaces and _ - . : / + (no @: never personal data)';

/** One label: trimmed, 1 to 100 characters of a charset without `@`. */
export const TouchLabelSchema = z
  .string()
  .trim()
  .min(1)
  .max(LABEL_MAX)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 _.:/+-]*$/, LABEL_MESSAGE);

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
