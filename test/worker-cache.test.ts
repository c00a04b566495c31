import { describe, expect, it } from 'vitest';
import { CACHED_LEAD_HEAP_MIB, defaultMaxCachedWorkflows } from '../src/worker.js';

const MiB = 1024 * 1024;

describe('the worker workflow cache default', () => {
  it('is half the heap at CACHED_LEAD_HEAP_MIB a lead', () => {
    expect(CACHED_LEAD_HEAP_MIB).toBe(0.5);
    // Node's default heap on this 23.5 GiB machine: 4144 MiB.
    expect(defaultMaxCachedWorkflows(undefined, 4144 * MiB)).toBe(4144);
    expect(defaultMaxCachedWorkflows(undefined, 1024 * MiB)).toBe(1024);
  });

  it('keeps at least 50 leads on a small heap', () => {
    expect(defaultMaxCachedWorkflows(undefined, 16 * MiB)).toBe(50);
  });

  it('takes LEADCYCLE_MAX_CACHED_WORKFLOWS as it is', () => {
    expect(defaultMaxCachedWorkflows(7, 4144 * MiB)).toBe(7);
  });
});
