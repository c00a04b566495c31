import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

/**
 * src/machines/shared-modules.ts guards each module the workflow bundle shares between leads against
 * the SDK's deep freeze; a module of the machine it forgets would be frozen (a zod schema in it then
 * fails on its first parse in a workflow). The diagram is drawn by a script, never in a workflow.
 */
describe('the modules shared by every workflow', () => {
  it('name every module of the machine', async () => {
    const dir = new URL('../../src/machines/', import.meta.url);
    const source = await readFile(new URL('shared-modules.ts', dir), 'utf8');
    const modules = (await readdir(dir)).filter(
      (f) => f.endsWith('.ts') && f !== 'shared-modules.ts' && f !== 'diagram.ts',
    );
    const guarded = (name: string) =>
      new RegExp(`import \\* as (\\w+) from '\\./${name}\\.js';[\\s\\S]*\\n  \\1,\\n`);
    expect(modules.filter((f) => !guarded(f.replace(/\.ts$/, '')).test(source))).toEqual([]);
  });
});
