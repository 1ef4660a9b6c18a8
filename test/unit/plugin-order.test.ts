// /v2/features and /version list modules in the smart proxy's plugin load order: Foreman sees
// their JSON text, so the order each module declares must give the smart proxy's own.
import { describe, it, expect } from '@jest/globals';
import { inPluginOrder } from '../../src/features/index.js';

describe('plugin order', () => {
  it("is the smart proxy's: built-in modules in its order, then the plugins in bundler.d order (ansible, dynflow, openscap, remote_execution_ssh)", () => {
    expect(inPluginOrder().map((m) => m.name)).toEqual([
      'facts',
      'dns',
      'templates',
      'tftp',
      'dhcp',
      'puppetca',
      'puppet',
      'bmc',
      'realm',
      'logs',
      'httpboot',
      'registration',
      'ansible',
      'dynflow',
      'openscap',
      'script',
    ]);
  });
});
