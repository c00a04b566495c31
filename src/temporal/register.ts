/**
 * Registers the lead search attributes (src/temporal/search-attributes.ts) idempotently, on our
 * servers and on foreign ones.
 */
import { type Connection, isGrpcServiceError } from '@temporalio/client';
import { SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
// The SDK exports this encoder (from an internal path) precisely so tests can register search attributes.
import {
  encodeSearchAttributeIndexedValueType,
  type SearchAttributeKey,
} from '@temporalio/common/lib/search-attributes.js';
import { TemporalServerError } from './errors.js';
import { ALL_LEAD_SEARCH_ATTRIBUTES } from './search-attributes.js';

export const DEFAULT_NAMESPACE = 'default';

const GRPC_ALREADY_EXISTS = 6;

/**
 * Makes sure `keys` exist in `namespace` with the right types; adds only the missing ones.
 * Safe to call on any server, any number of times. Returns the names it added.
 */
export async function registerSearchAttributes(
  connection: Connection,
  namespace: string = DEFAULT_NAMESPACE,
  keys: readonly SearchAttributeKey<SearchAttributeType>[] = ALL_LEAD_SEARCH_ATTRIBUTES,
): Promise<string[]> {
  const missing = await missingSearchAttributes(connection, namespace, keys);
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, indexedValueType(k.type)])),
    });
  } catch (err) {
    // Lost a race with another registrar: fine as long as the types match (checked below).
    if (!(isGrpcServiceError(err) && err.code === GRPC_ALREADY_EXISTS)) throw err;
  }
  const stillMissing = await missingSearchAttributes(connection, namespace, keys);
  if (stillMissing.length > 0) {
    throw new Error(
      `search attributes not visible after registration: ${stillMissing.map((k) => k.name).join(', ')}`,
    );
  }
  return missing.map((k) => k.name);
}

async function missingSearchAttributes(
  connection: Connection,
  namespace: string,
  keys: readonly SearchAttributeKey<SearchAttributeType>[],
): Promise<SearchAttributeKey<SearchAttributeType>[]> {
  const { customAttributes, systemAttributes } = await connection.operatorService.listSearchAttributes({
    namespace,
  });
  const existing: Record<string, number> = { ...systemAttributes, ...customAttributes };
  const missing: SearchAttributeKey<SearchAttributeType>[] = [];
  for (const key of keys) {
    const actual = existing[key.name];
    if (actual === undefined) {
      missing.push(key);
    } else if (actual !== indexedValueType(key.type)) {
      throw new TemporalServerError(
        'search_attribute_conflict',
        `search attribute ${key.name} exists in namespace ${namespace} as ${typeName(actual)}, ` +
          `expected ${TypedSearchAttributes.toMetadataType(key.type)}`,
      );
    }
  }
  return missing;
}

/** The proto enum the operator service speaks, e.g. KEYWORD -> INDEXED_VALUE_TYPE_KEYWORD (2). */
function indexedValueType(type: SearchAttributeType): number {
  const encoded = encodeSearchAttributeIndexedValueType(type);
  if (encoded === undefined) throw new Error(`unknown search attribute type ${type}`);
  return encoded;
}

function typeName(indexed: number): string {
  const type = Object.values(SearchAttributeType).find((t) => indexedValueType(t) === indexed);
  return type ? TypedSearchAttributes.toMetadataType(type) : `IndexedValueType(${indexed})`;
}
