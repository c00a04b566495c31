import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * A lead is identified by its tenant plus either its normalised email or an external id (a CRM
 * id), so the same person submitting a form twice, in another case, is one lead. The workflow id
 * is a hash of that key: workflow ids are visible in the Temporal UI and never encrypted.
 */
export const LeadRefSchema = z.union([
  z
    .object({
      tenant: z.string().trim().min(1).max(100).default('default'),
      email: z.string().trim().toLowerCase().pipe(z.email()),
    })
    .strict(),
  z
    .object({
      tenant: z.string().trim().min(1).max(100).default('default'),
      externalId: z.string().trim().min(1).max(200),
    })
    .strict(),
]);
export type LeadRef = z.input<typeof LeadRefSchema>;

export function leadKeyOf(ref: LeadRef): string {
  const parsed = LeadRefSchema.parse(ref);
  return 'email' in parsed
    ? `${parsed.tenant}:email:${parsed.email}`
    : `${parsed.tenant}:ext:${parsed.externalId}`;
}

export function workflowIdOf(leadKey: string): string {
  return `lead-${createHash('sha256').update(leadKey).digest('hex').slice(0, 32)}`;
}
