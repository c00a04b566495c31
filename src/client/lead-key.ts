import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * A tenant's name: a letter or digit, then letters, digits, `.`, `_` or `-`, at most 100 in all. No
 * `:`, so a lead key (`<tenant>:email:…`, `<tenant>:ext:…`) splits one way only: tenant `a` with
 * external id `x:email:b@c.example` and tenant `a:ext:x` with email `b@c.example` would otherwise be
 * one lead. Every tenant of that alphabet keeps the key (and so the workflow id) it had before.
 */
export const TenantSchema = z
  .string()
  .trim()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
    'a tenant is 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit (no ":")',
  );

/**
 * A lead is identified by its tenant plus either its normalised email or an external id (a CRM
 * id), so the same person submitting a form twice, in another case, is one lead. The workflow id
 * is a hash of that key: workflow ids are visible in the Temporal UI and never encrypted.
 */
export const LeadRefSchema = z.union([
  z
    .object({
      tenant: TenantSchema.default('default'),
      email: z.string().trim().toLowerCase().pipe(z.email()),
    })
    .strict(),
  z
    .object({
      tenant: TenantSchema.default('default'),
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
