// /v2/features and /version walk PLUGIN_ORDER: a module missing from it would vanish from both.
import { describe, it, expect } from '@jest/globals';
import { FEATURE_DEFAULTS, PLUGIN_ORDER } from '../../src/features/catalog.js';

describe('plugin order', () => {
  it('names every known module exactly once', () => {
    expect([...PLUGIN_ORDER].sort()).toEqual(Object.keys(FEATURE_DEFAULTS).sort());
  });
});
