import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_LEAD_SEARCH_ATTRIBUTES, LeadSearchAttributes } from '../src/temporal/search-attributes.js';
import { findTemporalBinary, registerSearchAttributes, TemporalServerError } from '../src/temporal/server.js';
import { devServer, startTimeSkippingEnv } from './support/temporal.js';

describe('dev server started by the global setup', () => {
  const { address, namespace, isOurs } = devServer();
  let connection: Connection;

  beforeAll(async () => {
    connection = await Connection.connect({ address });
  });
  afterAll(async () => {
    await connection?.close();
  });

  const listCustomAttributes = async () =>
    (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};

  it('has the lead search attributes registered with their types', async () => {
    const custom = await listCustomAttributes();
    expect(custom).toMatchObject({
      LeadStage: 2, // INDEXED_VALUE_TYPE_KEYWORD
      LeadScore: 3, // INDEXED_VALUE_TYPE_INT
      LeadTemperature: 2,
      LeadBuyingStage: 2,
      LeadOwner: 2,
      LeadConfigVersion: 3,
      LeadStale: 5, // INDEXED_VALUE_TYPE_BOOL
    });
    expect(ALL_LEAD_SEARCH_ATTRIBUTES.map((k) => k.name).sort()).toEqual(
      [
        'LeadBuyingStage',
        'LeadConfigVersion',
        'LeadOwner',
        'LeadScore',
        'LeadStage',
        'LeadStale',
        'LeadTemperature',
      ].sort(),
    );
  });

  // The server rejects queries on unregistered attributes, so this proves registration end to end.
  it('answers a Client visibility query that uses the attributes', async () => {
    const client = new Client({ connection, namespace });
    const { count } = await client.workflow.count(
      `${LeadSearchAttributes.stage.name} = 'mql' AND ${LeadSearchAttributes.score.name} > 50`,
    );
    expect(count).toBeGreaterThanOrEqual(0);
  });

  it('registerSearchAttributes is idempotent', async () => {
    const before = await listCustomAttributes();
    expect(await registerSearchAttributes(connection, namespace)).toEqual([]);
    expect(await registerSearchAttributes(connection, namespace)).toEqual([]);
    expect(await listCustomAttributes()).toEqual(before);
  });

  // Skipped only when the tests run against someone else's server (an address from TEMPORAL_ADDRESS or
  // a Temporal profile): this test adds a search attribute, which must not be left behind on a server
  // we do not own. CI sets neither, so it always runs there.
  it.skipIf(!isOurs)('registerSearchAttributes adds a missing attribute exactly once', async () => {
    const probe = defineSearchAttributeKey('LeadcycleTestProbe', SearchAttributeType.KEYWORD);
    expect(await registerSearchAttributes(connection, namespace, [probe])).toEqual(['LeadcycleTestProbe']);
    expect(await registerSearchAttributes(connection, namespace, [probe])).toEqual([]);
    expect(await listCustomAttributes()).toHaveProperty('LeadcycleTestProbe', 2);
  });

  it('rejects an attribute that exists with another type', async () => {
    const clash = defineSearchAttributeKey(LeadSearchAttributes.score.name, SearchAttributeType.KEYWORD);
    await expect(registerSearchAttributes(connection, namespace, [clash])).rejects.toMatchObject({
      name: 'TemporalServerError',
      code: 'search_attribute_conflict',
      message: expect.stringContaining('LeadScore'),
    });
  });
});

describe('a private time-skipping server', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await startTimeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('skips time', async () => {
    expect(env.supportsTimeSkipping).toBe(true);
    const before = await env.currentTimeMs();
    await env.sleep('3 days');
    expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(3 * 24 * 60 * 60 * 1000);
  });
});

describe('findTemporalBinary', () => {
  let dir: string;
  let emptyDataDir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leadcycle-bin-'));
    emptyDataDir = join(dir, 'data');
    for (const name of ['temporal', 'other-temporal']) {
      await writeFile(join(dir, name), '#!/bin/sh\n');
      await chmod(join(dir, name), 0o755);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['temporal', 'LEADCYCLE_TEMPORAL_BIN'],
    ['temporal-test-server', 'LEADCYCLE_TEMPORAL_TEST_SERVER_BIN'],
  ] as const)('%s: a %s that points nowhere is a typed error naming the variable', async (name, envVar) => {
    const lookup = findTemporalBinary(name, { env: { [envVar]: join(dir, 'missing'), PATH: dir } });
    await expect(lookup).rejects.toBeInstanceOf(TemporalServerError);
    await expect(lookup).rejects.toMatchObject({
      code: 'binary_not_found',
      message: expect.stringContaining(envVar),
    });
  });

  it('prefers the env var over PATH, and PATH over the cache', async () => {
    const other = join(dir, 'other-temporal');
    expect(await findTemporalBinary('temporal', { env: { LEADCYCLE_TEMPORAL_BIN: other, PATH: dir } })).toBe(
      other,
    );
    expect(await findTemporalBinary('temporal', { env: { PATH: dir }, dataDir: emptyDataDir })).toBe(
      join(dir, 'temporal'),
    );
  });

  it('without install, a missing binary is a typed error', async () => {
    await expect(
      findTemporalBinary('temporal-test-server', {
        env: { PATH: dir },
        dataDir: emptyDataDir,
        install: false,
      }),
    ).rejects.toMatchObject({ code: 'binary_not_found' });
  });
});
