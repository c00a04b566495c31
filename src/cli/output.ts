/**
 * Where the commands' answers go: human-readable text and tables by default, JSON with `--json`.
 * One object per run, handed to every command; the program sets `json` once the options are parsed.
 */
export class Output {
  json = false;

  /** The value as JSON, or as `human()` renders it. */
  print(value: unknown, human: () => string): void {
    console.log(this.json ? JSON.stringify(value, null, 2) : human());
  }

  /** A failure on stderr: its JSON body, or the one-line message. */
  fail(body: unknown, message: string): void {
    console.error(this.json ? JSON.stringify(body, null, 2) : `error: ${message}`);
  }

  /** A transient status line on stderr while a slow call runs (people only; `done()` erases it). */
  progress(text: string): { done(): void } {
    if (this.json) return { done() {} };
    process.stderr.write(`${text}\r`);
    return { done: () => process.stderr.write(`${' '.repeat(text.length)}\r`) };
  }
}

/** A plain text table: columns as wide as their widest cell. */
export function table(rows: ReadonlyArray<object>): string {
  if (rows.length === 0) return '(none)';
  const records = rows.map((r) => new Map(Object.entries(r)));
  const columns = [...(records[0]?.keys() ?? [])];
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...records.map((r) => cell(r.get(c)).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...records.map((r) => line(columns.map((c) => cell(r.get(c))))),
  ].join('\n');
}
