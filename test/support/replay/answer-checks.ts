// Compares one answer with the recorded one: status and Content-Type, body (exact, except what
// the recording's README calls variable), and headers (every recorded one with its value, and
// nothing else but the per-connection ones).
import { expect } from '@jest/globals';
import type { SimState } from '../sim-process.js';
import { isLogsBody, RANDOM_IP, type Exchange } from './exchange.js';
import { checkLogs } from './logs-checks.js';
import type { ReplayRun } from './replay-run.js';
import type { Answer } from './sender.js';

const LEASE_TIME = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/g;
/** Per connection, not per answer; the recording left Date and Connection out too. */
const IGNORED_HEADERS = new Set(['date', 'connection', 'keep-alive']);

export function checkLabels(ex: Exchange, answer: Answer): void {
  expect({ status: answer.status, content_type: answer.headers['content-type'] ?? null }).toEqual({
    status: ex.response.status,
    content_type: ex.response.content_type,
  });
}

/** `dhcpState`: the simulator DHCP answers came from, to judge random unused_ip answers. */
export function checkBody(ex: Exchange, answer: Answer, run: ReplayRun, dhcpState: SimState, problems: string[]): void {
  const expected = run.expand(ex.response.body);
  if (RANDOM_IP.has(ex.id)) checkRandomIp(ex, answer, dhcpState, problems);
  else if (isLogsBody(ex)) checkLogs(ex, answer, run, problems);
  else if (ex.id === 'dhcp-subnet' || ex.id === 'dhcp-get-by-mac-lease') {
    expect(answer.body.replace(LEASE_TIME, 'TIME')).toEqual(expected.replace(LEASE_TIME, 'TIME'));
  } else {
    expect(answer.body).toEqual(expected);
  }
}

export function checkHeaders(ex: Exchange, answer: Answer, run: ReplayRun, problems: string[]): void {
  const recorded = Object.fromEntries(Object.entries(ex.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
  // The recorded Content-Length is that of the original body; where the body legitimately
  // differs (placeholders, truncation, random values, logs), ours must match our own body.
  const exactLength =
    run.expand(ex.response.body) === ex.response.body &&
    !ex.response.body_truncated &&
    !RANDOM_IP.has(ex.id) &&
    !ex.id.startsWith('logs-');
  for (const [name, value] of Object.entries(recorded)) {
    const got = answer.headers[name];
    const want = name === 'content-length' && !exactLength ? String(Buffer.byteLength(answer.body)) : value;
    if (ex.request.method === 'HEAD' && name === 'content-length') {
      if (got !== value) problems.push(`HEAD Content-Length ${String(got)} != ${value}`);
    } else if (got !== want) problems.push(`header ${name}: ${String(got)} != ${want}`);
  }
  if (ex.request.method !== 'HEAD' && answer.headers['content-length'] !== String(Buffer.byteLength(answer.body))) {
    problems.push('Content-Length does not match the body');
  }
  for (const name of Object.keys(answer.headers)) {
    if (!(name in recorded) && !IGNORED_HEADERS.has(name)) problems.push(`extra header ${name}: ${String(answer.headers[name])}`);
  }
  // Names as WEBrick spells them, in its order: HTTP ignores both, a fingerprint would not.
  const names = answer.rawNames.filter((n) => n.toLowerCase() in recorded);
  const recordedNames = Object.keys(ex.response.headers);
  if (names.join(', ') !== recordedNames.join(', ')) problems.push(`header names [${names.join(', ')}] != [${recordedNames.join(', ')}]`);
}

function checkRandomIp(ex: Exchange, answer: Answer, state: SimState, problems: string[]): void {
  let ip: unknown;
  try {
    ip = (JSON.parse(answer.body) as { ip: unknown }).ip;
  } catch {
    problems.push(`body is not JSON: ${answer.body}`);
    return;
  }
  const toInt = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  if (typeof ip !== 'string' || !/^192\.0\.2\.\d+$/.test(ip)) {
    problems.push(`unused_ip gave ${String(ip)}`);
    return;
  }
  const from = ex.request.query?.from ?? '192.0.2.1';
  const to = ex.request.query?.to ?? '192.0.2.254';
  if (toInt(ip) < toInt(from) || toInt(ip) > toInt(to)) problems.push(`unused_ip ${ip} outside ${from}..${to}`);
  const used = [...state.dhcp.reservations, ...state.dhcp.leases].map((r) => r.ip);
  if (used.includes(ip)) problems.push(`unused_ip ${ip} is in use`);
}
