// Words for a key the schema does not know. Where the key sits tells what the administrator
// was trying to name (a feature, an exposed setting), so the message says that.
import { featureByName } from '../features/index.js';
import { closestName } from './closest-name.js';
import type { PathSegment } from './problems.js';

export function unknownKeyMessage(parent: readonly PathSegment[], key: string, allowed: readonly string[]): string {
  const guess = closestName(key, allowed);
  const hint = guess ? ` (did you mean '${guess}'?)` : '';

  if (parent.length === 1 && parent[0] === 'features') {
    if (featureByName(key)?.rex) return `feature '${key}' is offered by the remote-execution spool: set rex.enabled: true instead`;
    return `unknown feature '${key}'${hint || ` (known features: ${allowed.join(', ')})`}`;
  }
  const feature = parent[0] === 'features' && typeof parent[1] === 'string' ? featureByName(parent[1]) : undefined;
  if (feature && parent.length === 3 && parent[2] === 'settings') {
    const names = Object.keys(feature.exposedSettings);
    const exposed = names.length
      ? `it exposes ${names.join(', ')}`
      : 'it exposes no settings';
    return `feature '${parent[1]}' does not expose setting '${key}'${hint || ` (${exposed})`}`;
  }
  if (feature?.localOnly && parent.length === 2 && ['backends', 'policy', 'order', 'on_backend_down', 'min_success'].includes(key)) {
    return `feature '${parent[1]}' is answered by proxy-proxy itself and takes no ${key}`;
  }
  return `unknown key '${key}'${hint}`;
}
