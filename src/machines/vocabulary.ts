import { z } from 'zod';

/**
 * leadcycle's words, defined once: the machine, the client, the API, the CLI and the analytics all
 * import them from here (docs/domain.md defines what each one means).
 */

/** Lifecycle stages, in funnel order, then the side stages. */
export const FUNNEL_STAGES = ['visitor', 'lead', 'mql', 'sql', 'opportunity', 'customer'] as const;
export const SIDE_STAGES = ['recycled', 'disqualified', 'lost', 'merged'] as const;
export const STAGES = [...FUNNEL_STAGES, ...SIDE_STAGES] as const;
export const StageSchema = z.enum(STAGES);
export type Stage = z.infer<typeof StageSchema>;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

/** The consent region's states. */
export const CONSENT_STATES = ['unknown', 'granted', 'withdrawn'] as const;
export const ConsentStateSchema = z.enum(CONSENT_STATES);
export type ConsentState = z.infer<typeof ConsentStateSchema>;

/** Where a consent change came from: the proof of consent says how it was given or withdrawn. */
export const CONSENT_SOURCES = ['form', 'link', 'api', 'crm', 'merge', 'import'] as const;
export const ConsentSourceSchema = z.enum(CONSENT_SOURCES);
export type ConsentSource = z.infer<typeof ConsentSourceSchema>;

/** `hot`: need, budget, authority and a short-term timeline all validated. */
export const TEMPERATURES = ['hot', 'cold'] as const;
export const TemperatureSchema = z.enum(TEMPERATURES);
export type Temperature = z.infer<typeof TemperatureSchema>;

/** The three content families follow the buying journey (docs/domain.md: "The buying journey"). */
export const BUYING_STAGES = ['awareness', 'consideration', 'decision'] as const;
export const BuyingStageSchema = z.enum(BUYING_STAGES);
export type BuyingStage = z.infer<typeof BuyingStageSchema>;

/** Form kinds: `contact` is the contact-sales form. */
export const FORM_KINDS = [
  'contact',
  'info_request',
  'quote_request',
  'demo_request',
  'content_download',
  'webinar',
  'newsletter',
] as const;
export const FormKindSchema = z.enum(FORM_KINDS);
export type FormKind = z.infer<typeof FormKindSchema>;
