// DHCP drift: one GET /dhcp/<network> per backend and network found in the ledger lists that
// backend's reservations. Each ledger key ('<network>/<mac>') is judged against them, and
// reservations whose MAC the ledger does not know are extras: reported, but only deleted on
// request (--prune), since they may predate proxy-proxy. Leases belong to dhcpd: ignored.
import { isReservation, type DhcpRecord } from './dhcp-reservation.js';
import { segment } from './path-segment.js';
import type { BackendCall } from './route.js';
import type { LedgerEntry } from '../state/store.js';
import { entryParams, type BackendSend, type DriftFinding, type FeatureInspector, type Observation } from './drift-inspector.js';

/** Fields compared, in the order they are shown; filename and nextServer only when the entry sets them. */
const FIELDS = ['ip', 'hostname', 'nextServer', 'filename'] as const;
type Wanted = Partial<Record<(typeof FIELDS)[number], string>>;

function splitKey(key: string): { network: string; mac: string } {
  const slash = key.lastIndexOf('/');
  return { network: key.slice(0, slash), mac: key.slice(slash + 1) };
}

const byMac = (key: string): BackendCall => {
  const { network, mac } = splitKey(key);
  return { method: 'DELETE', path: `/dhcp/${segment(network)}/mac/${segment(mac)}` };
};

function wanted(entry: LedgerEntry): Wanted {
  const p = entryParams(entry);
  const out: Wanted = { ip: p.get('ip') ?? undefined, hostname: p.get('hostname') ?? p.get('name') ?? undefined };
  if (p.has('nextServer')) out.nextServer = p.get('nextServer')!;
  if (p.has('filename')) out.filename = p.get('filename')!;
  return out;
}

function describe(fields: Record<string, unknown>, only: readonly string[] = FIELDS): string {
  return only
    .filter((f) => fields[f] !== undefined && fields[f] !== null)
    .map((f) => `${f}=${String(fields[f])}`)
    .join(' ');
}

function judge(entry: LedgerEntry, held: DhcpRecord | undefined): Observation {
  const key = entry.key;
  if (entry.op === 'delete') return held ? { key, kind: 'unexpected', actual: describe(held) } : { key, kind: 'ok' };
  const want = wanted(entry);
  if (!held) return { key, kind: 'missing', expected: describe(want) };
  const off = FIELDS.filter((f) => want[f] !== undefined && String(held[f] ?? '') !== want[f]);
  return off.length === 0 ? { key, kind: 'ok' } : { key, kind: 'different', expected: describe(want, off), actual: describe(held, off) || '(unset)' };
}

/** The reservations of a 200 from GET /dhcp/<network>, by lower-case MAC; undefined when the body is not that. */
function reservationsOf(body: string): Map<string, DhcpRecord> | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  const list = (doc as { reservations?: unknown } | null)?.reservations;
  if (!Array.isArray(list)) return undefined;
  const out = new Map<string, DhcpRecord>();
  for (const r of list as DhcpRecord[]) {
    if (r && typeof r === 'object' && typeof r.mac === 'string' && isReservation(r)) out.set(r.mac.toLowerCase(), r);
  }
  return out;
}

export const dhcpInspector: FeatureInspector = {
  feature: 'dhcp',

  readable: () => true,

  async inspect(send: BackendSend, entries: LedgerEntry[]): Promise<Observation[]> {
    const networks = new Map<string, LedgerEntry[]>();
    for (const e of entries) {
      const { network } = splitKey(e.key);
      networks.set(network, [...(networks.get(network) ?? []), e]);
    }
    const out: Observation[] = [];
    for (const [network, list] of networks) {
      let held: Map<string, DhcpRecord> | undefined;
      try {
        const answer = await send({ method: 'GET', path: `/dhcp/${segment(network)}` });
        const body = answer.body.toString('utf8');
        held = answer.status === 200 ? reservationsOf(body) : undefined;
        if (!held) {
          out.push({ key: network, kind: 'unreadable', detail: `HTTP ${answer.status} ${body.slice(0, 120)}`.trim() });
          continue;
        }
      } catch (err) {
        // Unreachable: the other networks would fail the same way.
        out.push({ key: network, kind: 'unreadable', detail: (err as { code?: string }).code ?? String(err) });
        break;
      }
      const known = new Set(list.map((e) => splitKey(e.key).mac));
      for (const e of list) out.push(judge(e, held.get(splitKey(e.key).mac)));
      for (const [mac, r] of held) {
        if (!known.has(mac)) out.push({ key: `${network}/${mac}`, kind: 'extra', actual: describe(r) });
      }
    }
    return out;
  },

  // A reservation cannot be overwritten (409): the differing one goes first.
  prepare: (finding: DriftFinding) => (finding.kind === 'different' ? [byMac(finding.key)] : []),

  prune: (finding: DriftFinding) => (finding.kind === 'extra' ? byMac(finding.key) : undefined),
};
