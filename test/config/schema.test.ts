import { describe, it, expect } from '@jest/globals';
import { configSchema } from '../../src/config/schema.js';
import { FEATURE_DEFAULTS, KNOWN_FEATURES } from '../../src/features/catalog.js';

type Node = { description?: string; properties?: Record<string, Node>; additionalProperties?: Node | boolean; items?: Node };

/** Paths of properties without a description (the configuration reference is built from them). */
function undescribed(node: Node, path: string): string[] {
  const missing: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const at = path ? `${path}.${key}` : key;
    if (!child.description) missing.push(at);
    missing.push(...undescribed(child, at));
  }
  if (typeof node.additionalProperties === 'object') {
    if (!node.additionalProperties.description) missing.push(`${path}.*`);
    missing.push(...undescribed(node.additionalProperties, `${path}.*`));
  }
  if (node.items) missing.push(...undescribed(node.items, `${path}[]`));
  return missing;
}

describe('configSchema', () => {
  it('describes every property', () => {
    expect(configSchema.description).toBeTruthy();
    expect(undescribed(configSchema as Node, '')).toEqual([]);
  });

  it('declares every known feature with its catalog default policy', () => {
    const features = (configSchema.properties.features as Node).properties as Record<string, Node & { properties: Record<string, { default?: unknown }> }>;
    expect(Object.keys(features)).toEqual(KNOWN_FEATURES);
    for (const name of KNOWN_FEATURES) {
      if (FEATURE_DEFAULTS[name].forwards) expect(features[name].properties.policy).toBeUndefined();
      else if (FEATURE_DEFAULTS[name].localOnly) expect(features[name].properties.backends).toBeUndefined();
      else expect(features[name].properties.policy.default).toBe(FEATURE_DEFAULTS[name].policy);
    }
  });

  it('offers on_backend_down and min_success, with their defaults, on every feature with backends', () => {
    const features = (configSchema.properties.features as Node).properties as Record<string, Node & { properties: Record<string, { default?: unknown }> }>;
    for (const name of KNOWN_FEATURES) {
      const { on_backend_down: onDown, min_success: minSuccess } = features[name].properties;
      if (FEATURE_DEFAULTS[name].localOnly) {
        expect([onDown, minSuccess]).toEqual([undefined, undefined]);
      } else {
        expect([onDown.default, minSuccess.default]).toEqual(['catch_up', 1]);
      }
    }
  });
});
