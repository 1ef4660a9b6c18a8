import { describe, it, expect } from '@jest/globals';
import { configSchema } from '../../src/config/schema.js';
import { configurableFeatures } from '../../src/features/index.js';

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

  it("declares every configurable module with its description and its module's default policy", () => {
    const features = (configSchema.properties.features as Node).properties as Record<string, Node & { properties: Record<string, { default?: unknown }> }>;
    expect(Object.keys(features)).toEqual(configurableFeatures().map((m) => m.name));
    for (const m of configurableFeatures()) {
      expect(features[m.name].description).toContain(m.description);
      if (m.forwards) expect(features[m.name].properties.policy).toBeUndefined();
      else if (m.localOnly) expect(features[m.name].properties.backends).toBeUndefined();
      else expect(features[m.name].properties.policy.default).toBe(m.defaultPolicy);
    }
  });

  it('offers on_backend_down and min_success, with their defaults, on every feature with backends', () => {
    const features = (configSchema.properties.features as Node).properties as Record<string, Node & { properties: Record<string, { default?: unknown }> }>;
    for (const { name, localOnly, forwards } of configurableFeatures()) {
      const { on_backend_down: onDown, min_success: minSuccess } = features[name].properties;
      if (localOnly || forwards) {
        expect([onDown, minSuccess]).toEqual([undefined, undefined]);
      } else {
        expect([onDown.default, minSuccess.default]).toEqual(['catch_up', 1]);
      }
    }
  });
});
