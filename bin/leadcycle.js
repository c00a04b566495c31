#!/usr/bin/env node
// The `leadcycle` command: the compiled CLI (`npm run build` makes dist/; a clone's `npm install` runs it).
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main();
