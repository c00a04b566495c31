/**
 * The lead key's own address. A lead key is `<tenant>:email:<normalised address>` or
 * `<tenant>:ext:<external id>` (src/client/lead-key.ts makes them; tenants hold no `:`).
 * Pure: the workflow reads it to mail an email-keyed lead at its key address only.
 */
export function keyAddressOf(leadKey: string): string | null {
  const match = /^[^:]*:email:(.+)$/.exec(leadKey);
  return match?.[1] ?? null;
}
