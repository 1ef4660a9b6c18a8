// Builds IncomingCalls as the request handler does, and finds a route the way the router does
// (longest mount first, then the first route of that module that matches).
import { ALL_FEATURES } from '../../src/features/index.js';
import { compilePattern } from '../../src/features/pattern.js';
import type { FeatureModule } from '../../src/features/module.js';
import type { BackendAnswer, HttpMethod, IncomingCall, RouteSpec } from '../../src/features/route.js';
import { recordedLines } from '../support/recorded.js';

export interface Found {
  module: FeatureModule;
  route: RouteSpec;
  params: Record<string, string>;
}

const compiled = [...ALL_FEATURES]
  .sort((a, b) => Math.max(...b.mounts.map((m) => m.length)) - Math.max(...a.mounts.map((m) => m.length)))
  .flatMap((module) => module.routes.map((route) => ({ module, route, match: compilePattern(route.pattern) })));

export function findRoute(method: HttpMethod, path: string): Found | undefined {
  for (const c of compiled) {
    if (c.route.method !== method) continue;
    const params = c.match(path);
    if (params) return { module: c.module, route: c.route, params };
  }
  return undefined;
}

export interface CallSpec {
  method: HttpMethod;
  path: string;
  /** Sent as the query string, in order. */
  query?: Record<string, string>;
  /** Sent as an application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  /** A raw body with its content type (not read as form unless the type says so). */
  body?: string;
  contentType?: string;
}

/** The call for a request that must match a route; its params come from that route. */
export function callFor(spec: CallSpec): { found: Found; call: IncomingCall } {
  const found = findRoute(spec.method, spec.path);
  if (!found) throw new Error(`no route for ${spec.method} ${spec.path}`);
  return { found, call: buildCall(spec, found.params) };
}

export function buildCall(spec: CallSpec, params: Record<string, string>): IncomingCall {
  const rawQuery = spec.query ? new URLSearchParams(spec.query).toString() : '';
  let body = spec.body ?? '';
  let contentType = spec.contentType;
  if (spec.form) {
    body = new URLSearchParams(spec.form).toString();
    contentType = 'application/x-www-form-urlencoded';
  }
  const isForm = (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
  return {
    method: spec.method,
    path: spec.path,
    rawQuery,
    query: new URLSearchParams(rawQuery),
    params,
    form: isForm ? new URLSearchParams(body) : new URLSearchParams(),
    body: Buffer.from(body, 'utf8'),
    headers: contentType ? { 'content-type': contentType } : {},
  };
}

export function answer(status: number, body: string | object = ''): BackendAnswer {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { status, headers: {}, body: Buffer.from(text, 'utf8') };
}

export interface Exchange {
  id: string;
  request: {
    method: string;
    path: string;
    query?: Record<string, string>;
    form?: Record<string, string>;
    body?: string;
    headers: Record<string, string>;
  };
  response: { status: number; content_type: string | null; body: string };
}

/** The exchanges recorded from a real smart proxy. */
export function recordedExchanges(): Exchange[] {
  return recordedLines() as Exchange[];
}

/** The request of an exchange as the daemon's request handler would present it. */
export function exchangeSpec(x: Exchange): CallSpec {
  const r = x.request;
  let method = r.method === 'HEAD' ? 'GET' : r.method;
  if (method === 'POST' && r.form?._method) method = r.form._method.toUpperCase();
  return {
    method: method as HttpMethod,
    path: r.path.replace(/\/{2,}/g, '/'),
    query: r.query,
    form: r.form,
    body: r.body,
    contentType: r.headers['Content-Type'],
  };
}
