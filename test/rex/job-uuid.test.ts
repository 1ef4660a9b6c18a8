// Job uuids (rex/job-uuid.ts): RFC 9562 version 7, each one sorting after the one before, also
// within one millisecond and when the clock steps back.
import { describe, it, expect } from '@jest/globals';
import { jobUuid } from '../../src/rex/job-uuid.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('job uuids', () => {
  it('are version 7 uuids carrying the time, in the order they were made', () => {
    const at = 1_767_225_600_000;
    const ids = [jobUuid(at), ...Array.from({ length: 5000 }, () => jobUuid(at)), jobUuid(at - 60_000), jobUuid(at + 1)];
    for (const id of ids) expect(id).toMatch(V7);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(Number.parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });
});
