/**
 * Visits each line of a file, synchronously and without reading the whole file at once.
 *
 * The JSON Lines stores' scanner (src/activities/jsonl.ts) is async and throws their own corruption
 * error; opening the analytics store is synchronous, so its legacy import needs this one.
 */
import { closeSync, openSync, readSync } from 'node:fs';

const NEWLINE = 0x0a;

/** `terminated` is false for a last line without its newline. */
export function forEachLineSync(
  file: string,
  visit: (line: string, lineNo: number, terminated: boolean) => void,
): void {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let pending: Buffer[] = [];
    let lineNo = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      const data = chunk.subarray(0, read);
      let start = 0;
      for (let i = data.indexOf(NEWLINE); i !== -1; i = data.indexOf(NEWLINE, start)) {
        const bytes = Buffer.concat([...pending, data.subarray(start, i)]);
        pending = [];
        lineNo += 1;
        visit(bytes.toString('utf8'), lineNo, true);
        start = i + 1;
      }
      // Copied: `chunk` is reused by the next read. Decoded only once whole, so no UTF-8 is split.
      if (start < read) pending.push(Buffer.from(data.subarray(start)));
    }
    if (pending.length > 0) visit(Buffer.concat(pending).toString('utf8'), lineNo + 1, false);
  } finally {
    closeSync(fd);
  }
}
