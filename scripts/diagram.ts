/** Regenerates the machine diagram in README.md from the machine itself: `npm run diagram`. */
import { readFileSync, writeFileSync } from 'node:fs';
import { README_PATH, replaceDiagram } from './readme-diagram.js';

const readme = readFileSync(README_PATH, 'utf8');
const updated = replaceDiagram(readme);
if (updated !== readme) writeFileSync(README_PATH, updated);
console.log(updated === readme ? 'README diagram is current' : 'README diagram updated');
