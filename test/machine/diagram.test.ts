import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README_PATH, replaceDiagram } from '../../scripts/readme-diagram.js';

describe('the machine diagram in README', () => {
  it('is the one the machine generates (run `npm run diagram` when this fails)', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(replaceDiagram(readme)).toBe(readme);
  });

  it('draws every stage', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    for (const stage of [
      'visitor',
      'lead',
      'mql',
      'sql',
      'opportunity',
      'customer',
      'recycled',
      'disqualified',
      'lost',
    ]) {
      expect(readme).toMatch(new RegExp(`\\b${stage}\\b --> |--> ${stage}\\b`));
    }
  });
});
