// /v2/features and /version walk PLUGIN_ORDER: a module missing from it would vanish from both.
import { describe, it, expect } from '@jest/globals';
import { KNOWN_FEATURES, PLUGIN_ORDER } from '../../src/features/catalog.js';

describe('plugin order', () => {
  it('names every known module exactly once', () => {
    expect([...PLUGIN_ORDER].sort()).toEqual([...KNOWN_FEATURES].sort());
  });
});
