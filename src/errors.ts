/**
 * One error convention for all of leadcycle: every error is a value with a snake_case `code`; input
 * that does not match its schema is reported as field issues (`path` + `message`), mapped from zod in
 * one place. Pure (zod-free, no I/O): the workflow bundle imports it too.
 */

/** One field that is wrong, and why: `{ path: ['profile', 'email'], message: 'Invalid email' }`. */
export interface FieldIssue {
  path: string[];
  message: string;
}

/** What zod reports (a `ZodError`, or fastify's copy of its issues). */
interface IssueSource {
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>;
}

/** A zod error's issues as field issues. */
export function issuesOf(error: IssueSource): FieldIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
}

/** `profile.email: Invalid email; consent: Required`, naming `whole` where the issue is the input itself. */
export function describeIssues(issues: readonly FieldIssue[], whole = '(input)'): string {
  return issues.map((i) => `${i.path.join('.') || whole}: ${i.message}`).join('; ');
}

/** The base of leadcycle's own errors: a typed `code`, and the class name as `name`. */
export abstract class LeadcycleError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that does not match its schema: nothing happened. */
export class InvalidInputError extends LeadcycleError<'invalid_input'> {
  constructor(
    readonly issues: FieldIssue[],
    readonly subject = 'input',
  ) {
    super('invalid_input', `invalid ${subject}: ${describeIssues(issues)}`);
  }
}
