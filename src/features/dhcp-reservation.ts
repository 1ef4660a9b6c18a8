// DHCP records read back from a backend (GET …/mac/:mac, GET …/ip/:ip) and the POST form that
// re-creates a reservation from one: what a rollback sends to put a reservation back exactly.
import type { BackendAnswer } from './route.js';

export type DhcpRecord = Record<string, unknown>;

/** Record fields the smart proxy reports but does not take back on create. */
const NOT_CREATE_FIELDS = new Set(['type', 'subnet', 'deleteable', 'hardware_type']);

function parseJson(answer: BackendAnswer): unknown {
  try {
    return JSON.parse(answer.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is DhcpRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Leases are the DHCP server's own; only reservations are ours to delete or re-create. */
export function isReservation(r: DhcpRecord): boolean {
  return r.type === undefined || r.type === 'reservation';
}

/** The single record of a 200 from GET …/mac/:mac, or undefined when the body is not one. */
export function recordOf(answer: BackendAnswer): DhcpRecord | undefined {
  const v = parseJson(answer);
  return isRecord(v) ? v : undefined;
}

/** The records of a 200 from GET …/ip/:ip, or undefined when the body is not a list of them. */
export function recordsOf(answer: BackendAnswer): DhcpRecord[] | undefined {
  const v = parseJson(answer);
  return Array.isArray(v) && v.every(isRecord) ? v : undefined;
}

/**
 * The create form for a reservation: hostname, name, ip, mac, nextServer, filename and any
 * other option the record carries, nested values in Rack's `key[sub]` / `key[]` notation.
 */
export function reservationForm(record: DhcpRecord): URLSearchParams {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(record)) {
    if (!NOT_CREATE_FIELDS.has(key)) appendValue(form, key, value);
  }
  return form;
}

function appendValue(form: URLSearchParams, key: string, value: unknown): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    for (const item of value) appendValue(form, `${key}[]`, item);
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) appendValue(form, `${key}[${k}]`, v);
  } else {
    form.append(key, String(value));
  }
}
