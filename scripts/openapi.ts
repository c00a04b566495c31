/**
 * Writes the API's OpenAPI document, built without a server (src/api/openapi-document.ts):
 *
 *   npm run openapi [-- <file>]   (default docs/openapi.json, the committed copy)
 *
 * `npx redocly lint` lints the committed copy (redocly.yaml); test/api/openapi.test.ts fails when it
 * is not what the code documents.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { OPENAPI_FILE, openApiText } from '../src/api/openapi-document.js';

const file = resolve(process.argv[2] ?? OPENAPI_FILE);
await mkdir(dirname(file), { recursive: true });
await writeFile(file, await openApiText());
console.log(`wrote ${file}`);
