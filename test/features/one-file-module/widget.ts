// A smart-proxy module written the one-file way, as a newcomer would add one: routes, default
// policy, description, plugin order, provider flag, exposed settings and drift inspector, all
// here. (Widgets are made up: a replicated key → value store, so that drift has something to read.)
import { entryParams, shortText, type FeatureInspector, type Observation } from '../../../src/features/drift-inspector.js';
import type { FeatureModule } from '../../../src/features/module.js';
import { segment } from '../../../src/features/path-segment.js';
import type { BackendAnswer, BackendCall, IncomingCall } from '../../../src/features/route.js';

const read = (call: IncomingCall): BackendCall => ({ method: 'GET', path: `/widget/${segment(call.params.id!)}` });

/** Puts back what a backend held before the write: the old value, or nothing. */
function restore(call: IncomingCall, snapshot: BackendAnswer): BackendCall[] {
  const path = `/widget/${segment(call.params.id!)}`;
  if (snapshot.status === 404) return [{ method: 'DELETE', path }];
  return [{ method: 'POST', path, form: new URLSearchParams({ value: snapshot.body.toString('utf8') }) }];
}

const inspector: FeatureInspector = {
  feature: 'widget',
  readable: () => true,
  async inspect(send, entries) {
    const out: Observation[] = [];
    for (const entry of entries) {
      const answer = await send({ method: 'GET', path: `/widget/${segment(entry.key)}` });
      const actual = answer.body.toString('utf8');
      if (entry.op === 'delete') out.push(answer.status === 404 ? { key: entry.key, kind: 'ok' } : { key: entry.key, kind: 'unexpected', actual: shortText(actual) });
      else {
        const expected = entryParams(entry).get('value') ?? '';
        if (answer.status === 404) out.push({ key: entry.key, kind: 'missing', expected: shortText(expected) });
        else out.push(actual === expected ? { key: entry.key, kind: 'ok' } : { key: entry.key, kind: 'different', expected: shortText(expected), actual: shortText(actual) });
      }
    }
    return out;
  },
};

export const widget: FeatureModule = {
  name: 'widget',
  description: 'Widget: a made-up module that keeps one value per key.',
  loadOrder: 130,
  mounts: ['/widget'],
  defaultPolicy: 'replicate',
  auth: 'trusted',
  providers: true,
  exposedSettings: { widget_url: 'Widget URL reported to Foreman.' },
  drift: inspector,
  routes: [
    { name: 'widget.get', method: 'GET', pattern: '/widget/:id', kind: 'read', retrySafe: true },
    {
      name: 'widget.set',
      method: 'POST',
      pattern: '/widget/:id',
      kind: 'write',
      retrySafe: true,
      snapshot: read,
      restore,
      ledger: (call) => [{ key: call.params.id!, op: 'put' }],
    },
    {
      name: 'widget.delete',
      method: 'DELETE',
      pattern: '/widget/:id',
      kind: 'write',
      retrySafe: true,
      snapshot: read,
      restore,
      ledger: (call) => [{ key: call.params.id!, op: 'delete' }],
    },
  ],
};
