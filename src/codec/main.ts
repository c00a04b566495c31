/**
 * The codec server alone, for deployments where the UI runs elsewhere:
 * `npx tsx src/codec/main.ts`. Keys from LEADCYCLE_CODEC_KEYS (or the data dir's key file),
 * LEADCYCLE_CODEC_ORIGINS (comma-separated UI origins, default http://localhost:8233),
 * LEADCYCLE_CODEC_TOKEN (Bearer token, at least 32 characters) and/or LEADCYCLE_CODEC_USERINFO_URL
 * (accept the UI user's OIDC access token), LEADCYCLE_CODEC_HOST / LEADCYCLE_CODEC_PORT. Beyond
 * loopback it refuses to start without one of the two (CodecServerUnprotectedError).
 */
import { LeadcycleError } from '../errors.js';
import { readSettings } from '../settings.js';
import { loadDataConverter } from './keys.js';
import { startCodecServer } from './server.js';

const settings = readSettings();
const { codec, source } = await loadDataConverter();
const origins = settings.LEADCYCLE_CODEC_ORIGINS;
const { app, url } = await startCodecServer({
  codec,
  origins,
  host: settings.LEADCYCLE_CODEC_HOST,
  port: settings.LEADCYCLE_CODEC_PORT,
  ...(settings.LEADCYCLE_CODEC_TOKEN ? { token: settings.LEADCYCLE_CODEC_TOKEN } : {}),
  ...(settings.LEADCYCLE_CODEC_USERINFO_URL ? { userinfoUrl: settings.LEADCYCLE_CODEC_USERINFO_URL } : {}),
}).catch((err: unknown) => {
  // A configuration problem is the operator's to fix: say which setting, without a stack trace.
  if (err instanceof LeadcycleError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
});
console.log(`codec server at ${url} for ${origins.join(', ')}; keys from ${source}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0));
  });
}
