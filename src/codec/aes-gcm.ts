import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import proto from '@temporalio/proto';
import { LeadcycleError } from '../errors.js';
import { isOperatorValue } from './operator-text.js';

/**
 * AES-256-GCM payload codec: every payload a client or worker writes to Temporal (inputs, results,
 * update arguments, activity inputs: names, emails) is encrypted; Temporal stores ciphertext only.
 * The key id travels in the payload's metadata, so keys rotate: the first key encrypts, every key
 * in the ring decrypts. One exception: the operator texts the Temporal UI shows (summary, current
 * details, timer summaries: src/codec/operator-text.ts) stay `json/plain` when they are one of
 * those texts whole, so the UI speaks without the codec server; decode passes them through.
 */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKey {
  id: string;
  /** 32 bytes. */
  key: Uint8Array;
}

export class CodecError extends LeadcycleError<
  'unknown_key' | 'invalid_key' | 'corrupt_payload' | 'no_keys'
> {}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class AesGcmCodec implements PayloadCodec {
  private readonly keys: Map<string, Uint8Array>;
  private readonly current: CodecKey;

  /** `keys[0]` encrypts new payloads; all of them decrypt. */
  constructor(keys: readonly CodecKey[]) {
    const [current] = keys;
    if (!current) throw new CodecError('no_keys', 'the codec needs at least one key');
    for (const k of keys) {
      if (k.key.length !== 32)
        throw new CodecError('invalid_key', `key ${k.id} is ${k.key.length} bytes, not 32`);
    }
    this.current = current;
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (isOperatorPayload(payload)) return payload;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
      // The whole payload, metadata included: not even its encoding is left in the clear.
      const plain = encodePayload(payload);
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: encoder.encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: encoder.encode(this.current.id),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
      const keyId = keyIdBytes ? decoder.decode(keyIdBytes) : '';
      const key = this.keys.get(keyId);
      if (!key)
        throw new CodecError(
          'unknown_key',
          `payload encrypted with key "${keyId}", which this codec does not have`,
        );
      const data = payload.data ?? new Uint8Array();
      if (data.length < IV_BYTES + TAG_BYTES)
        throw new CodecError('corrupt_payload', 'encrypted payload too short');
      const iv = data.subarray(0, IV_BYTES);
      const tag = data.subarray(data.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAuthTag(tag);
      try {
        const plain = Buffer.concat([
          decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
          decipher.final(),
        ]);
        return decodePayload(plain);
      } catch (err) {
        throw new CodecError('corrupt_payload', `payload failed authentication with key "${keyId}"`, {
          cause: err,
        });
      }
    });
  }
}

/**
 * A `json/plain` payload with no other metadata whose value is an operator text: nothing in it can
 * be personal data (see operator-text.ts). Its bytes must be the canonical JSON of that value.
 */
function isOperatorPayload(payload: Payload): boolean {
  const keys = Object.keys(payload.metadata ?? {});
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  if (keys.length !== 1 || !encoding || decoder.decode(encoding) !== 'json/plain') return false;
  const text = decoder.decode(payload.data ?? new Uint8Array());
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  return JSON.stringify(value) === text && isOperatorValue(value);
}

/** The standard wire form of a payload, as Temporal's other codecs and codec servers use it. */
// A CommonJS package: Node's ESM loader only gives it a default export.
const WirePayload = proto.temporal.api.common.v1.Payload;
const encodePayload = (payload: Payload) => WirePayload.encode(payload).finish();
const decodePayload = (bytes: Uint8Array): Payload => WirePayload.decode(bytes);
