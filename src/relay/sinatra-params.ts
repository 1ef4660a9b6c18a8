// The `params` a smart proxy's Sinatra route sees: the query, the form body when Rack parses
// one, then the route's own captures, in Ruby Hash order.
import type { IncomingCall } from '../features/route.js';
import { parseRackQuery, type RubyParams } from './ruby-words.js';

/** Rack's form_data?: a form media type, or a POST that names no type at all. */
export function rackParsesBody(call: IncomingCall): boolean {
  const type = call.headers['content-type'];
  if (type === undefined) return call.method === 'POST';
  return type.split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** Rack's request.params: GET merged with POST. */
export function requestParams(call: IncomingCall): RubyParams {
  const params = parseRackQuery(call.rawQuery);
  if (rackParsesBody(call) && call.body.length > 0) parseRackQuery(call.body.toString('utf8'), params);
  return params;
}

/** Sinatra's params: request.params with the route captures merged in. */
export function sinatraParams(call: IncomingCall, captures: string[]): RubyParams {
  const params = requestParams(call);
  for (const name of captures) params.set(name, call.params[name] ?? null);
  return params;
}
