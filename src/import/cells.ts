/**
 * Cell values as other tools export them: dates, employee ranges, value lists. Pure: the row's
 * translation (row.ts) reads them and names the column when one does not parse.
 */
import { z } from 'zod';

/** A number cell: `1,200` and `1 200` are 1200 (exports write thousands separators). */
export const numberCell = z
  .string()
  .transform((s) => Number(s.replace(/[\s,_]/g, '')))
  .pipe(z.number({ error: 'expected a number' }));

/** An employee range ("100-500", "1,000+", "10 to 50") as its lower bound; a plain number as itself. */
export const employeesCell = z
  .string()
  .transform((s) => s.replace(/[\s,_]/g, ''))
  .transform((s) => /^(\d+)(?:(?:-|to)\d+|\+)$/i.exec(s)?.[1] ?? s)
  .pipe(numberCell)
  .pipe(z.number().int().nonnegative());

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * A date cell: ISO 8601 (`2024-03-01`, `2024-03-01T09:12:00Z`), an export's `2024-03-01 09:12[:00]`
 * (read as UTC when it names no zone: HubSpot and Mautic write the account's time without one),
 * or epoch milliseconds (HubSpot's raw property values). Never later than `now`.
 */
export function dateCell(now: number) {
  return z
    .string()
    .trim()
    .transform((s, ctx) => {
      let ms: number;
      if (/^\d{11,14}$/.test(s)) ms = Number(s);
      else if (DAY.test(s)) ms = Date.parse(`${s}T00:00:00Z`);
      else if (DATE_TIME.test(s)) {
        const iso = s.replace(' ', 'T');
        ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(iso) ? iso : `${iso}Z`);
      } else ms = Number.NaN;
      if (Number.isNaN(ms)) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected a date (2024-03-01, 2024-03-01 09:12 or ISO 8601)',
        });
        return z.NEVER;
      }
      if (ms > now) {
        ctx.addIssue({ code: 'custom', message: 'a date in the future' });
        return z.NEVER;
      }
      return ms;
    });
}

/** A value as words: "COMPUTER_SOFTWARE", "Computer Software" and "computer-software" are one. */
export const wordsOf = (value: string): string =>
  value
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

/** The value a list maps `cell` to, compared as words; undefined when it lists none. */
export function mapped<V>(list: Record<string, V>, cell: string): V | undefined {
  const words = wordsOf(cell);
  for (const [from, to] of Object.entries(list)) if (wordsOf(from) === words) return to;
  return undefined;
}
