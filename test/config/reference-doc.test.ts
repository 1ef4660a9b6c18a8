// The published schema and the configuration reference are generated; these fail when someone
// changes the schema without regenerating them (`proxy-proxy schema`, `proxy-proxy config-reference`).
import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { configSchema } from '../../src/config/schema.js';
import { configurationReference } from '../../src/config/reference-doc.js';

describe('generated configuration documents', () => {
  it('docs/configuration.md is the reference generated from the schema', () => {
    expect(readFileSync('docs/configuration.md', 'utf8')).toBe(configurationReference());
  });

  it('config/proxy-proxy.schema.json is the schema, and the example file points editors at it', () => {
    expect(JSON.parse(readFileSync('config/proxy-proxy.schema.json', 'utf8'))).toEqual(JSON.parse(JSON.stringify(configSchema)));
    expect(readFileSync('config/proxy-proxy.example.yaml', 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=proxy-proxy.schema.json');
  });

  it('documents every top-level key with its default', () => {
    const doc = configurationReference();
    for (const key of Object.keys(configSchema.properties)) expect(doc).toContain(`| \`${key}\` |`);
    expect(doc).toContain('| `health_check.interval_ms` | integer');
  });
});
