/**
 * How the commands read the command line: commander's options and arguments through zod schemas,
 * so each action gets typed values and a refusal names the option at fault.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { InvalidInputError, issuesOf } from '../errors.js';

/** A whole number option (commander's argument parser: refused while parsing, before any action). */
export const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
};

/** `horizonDays` → `--horizon-days`: how a field of the options is spelled on the command line. */
export const flag = (path: readonly string[]) =>
  path.length ? `--${path.join('.').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : '(options)';

/** Commander's options through the command's schema; a refusal names each option at fault. */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown): z.output<S> {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  throw new InvalidInputError(issuesOf(parsed.error), 'options');
}

/** An argument that carries JSON; a syntax error is a usage error naming the argument. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

export const tenantOption = () =>
  new Option('--tenant <tenant>', 'tenant the lead belongs to').default('default');
