/**
 * The codec server alone, for deployments where the UI runs elsewhere:
 * `npx tsx src/codec/main.ts`. Keys from LEADCYCLE_CODEC_KEYS (or the data dir's key file),
 * LEADCYCLE_CODEC_ORIGINS (comma-separated UI origins, default http://localhost:8233),
 * LEADCYCLE_CODEC_TOKEN (optional Bearer token), LEADCYCLE_CODEC_HOST / LEADCYCLE_CODEC_PORT.
 */
import { readSettings } from '../settings.js';
import { loadDataConverter } from './keys.js';
import { buildCodecServer } from './server.js';

const settings = readSettings();
const { codec, source } = await loadDataConverter();
const origins = settings.LEADCYCLE_CODEC_ORIGINS;
const app = buildCodecServer({
  codec,
  origins,
  ...(settings.LEADCYCLE_CODEC_TOKEN ? { token: settings.LEADCYCLE_CODEC_TOKEN } : {}),
});
const url = await app.listen({ host: settings.LEADCYCLE_CODEC_HOST, port: settings.LEADCYCLE_CODEC_PORT });
console.log(`codec server at ${url} for ${origins.join(', ')}; keys from ${source}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0));
  });
}
