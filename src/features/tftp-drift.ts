// TFTP drift: a per-MAC config ('pxelinux/00:11:…') is read back with GET /tftp/<variant>/<mac>
// and compared byte for byte with the pxeconfig of the request the ledger keeps. Default menus
// and boot files have no read API: they are unverifiable, never guessed at.
import { segment } from './path-segment.js';
import type { BackendAnswer } from './route.js';
import type { LedgerEntry } from '../state/store.js';
import { eachLimited, entryParams, shortText, type BackendSend, type FeatureInspector, type Observation } from './drift-inspector.js';

/** Reads in flight per backend: enough to be quick, few enough not to crowd out Foreman. */
const PARALLEL = 8;

function judge(entry: LedgerEntry, answer: BackendAnswer): Observation {
  const key = entry.key;
  const body = answer.body.toString('utf8');
  if (answer.status !== 200 && answer.status !== 404) {
    return { key, kind: 'unreadable', detail: `HTTP ${answer.status} ${body.slice(0, 120)}`.trim() };
  }
  if (entry.op === 'delete') {
    return answer.status === 404 ? { key, kind: 'ok' } : { key, kind: 'unexpected', actual: shortText(body) };
  }
  const params = entryParams(entry);
  // SP's own precedence: pxeconfig, else the legacy syslinux_config.
  const expected = params.get('pxeconfig') ?? params.get('syslinux_config');
  if (expected === null) return { key, kind: 'unreadable', detail: 'the ledger entry carries no pxeconfig to compare with' };
  if (answer.status === 404) return { key, kind: 'missing', expected: shortText(expected) };
  return body === expected ? { key, kind: 'ok' } : { key, kind: 'different', expected: shortText(expected), actual: shortText(body) };
}

export const tftpInspector: FeatureInspector = {
  feature: 'tftp',

  readable: (key) => !key.startsWith('default/') && !key.startsWith('boot/'),

  async inspect(send: BackendSend, entries: LedgerEntry[]): Promise<Observation[]> {
    const out: Observation[] = [];
    let broken: string | undefined;
    await eachLimited(
      entries,
      PARALLEL,
      async (entry) => {
        const slash = entry.key.indexOf('/');
        const path = `/tftp/${segment(entry.key.slice(0, slash))}/${segment(entry.key.slice(slash + 1))}`;
        try {
          out.push(judge(entry, await send({ method: 'GET', path })));
        } catch (err) {
          // A backend that cannot be reached is one finding, not one per key.
          broken ??= (err as { code?: string }).code ?? String(err);
        }
      },
      () => broken !== undefined,
    );
    if (broken !== undefined) out.push({ key: '*', kind: 'unreadable', detail: broken });
    return out;
  },
};
