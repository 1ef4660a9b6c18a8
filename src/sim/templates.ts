// /unattended and /userdata: relays to Foreman (SP modules/templates). The query gets
// url=<template_url> (and Content-Type=text/plain on POST), path segments are CGI-escaped,
// 201 becomes 200, and failures carry Ruby hash dumps of the parameters. Not gated.
import { Router, type Request, type Response } from 'express';
import type { SimContext } from './context.js';
import { foremanRequest, netHttpClass, relayedHeaders, UpstreamError } from './foreman-relay.js';
import { halt, ok, okJson } from './headers.js';
import { cgiEscape, rubyHash, wwwForm, type Params } from './params.js';
import { requestState, routeParams } from './request-state.js';

const NOT_FORWARDED = ['path', 'template', 'kind', 'hostgroup', 'splat', 'captures', 'mac'];

/** The upstream failed with an HTTP status; relays pass it on (unattended) or say 500 (userdata). */
class UpstreamStatus extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** template_url, or without one the address the host used to reach this proxy. */
function templateUrl(ctx: SimContext, req: Request): string {
  if (ctx.options.templateUrl) return ctx.options.templateUrl;
  const scheme = requestState(req.res as Response).https ? 'https' : 'http';
  return `${scheme}://${req.headers.host ?? ctx.options.host}`;
}

async function relay(
  ctx: SimContext,
  req: Request,
  res: Response,
  method: 'GET' | 'POST',
  segments: string[],
  params: Params,
  body?: Buffer,
): Promise<string> {
  const st = requestState(res);
  const opts: Params = new Map(params);
  opts.set('url', templateUrl(ctx, req));
  for (const k of NOT_FORWARDED) opts.delete(k);
  const path = segments.map(cgiEscape).join('/');
  const headers = relayedHeaders(req.headers);
  headers['X-Forwarded-For'] = st.remoteAddr;
  const contentType = params.get('Content-Type');
  if (typeof contentType === 'string') headers['Content-Type'] = contentType;
  st.log('DEBUG', `Template: request for ${path} using ${rubyHash(opts)}`);
  const query = wwwForm(opts);
  const answer = await foremanRequest(ctx, method, `/${path}${query ? '?' + query : ''}`, headers, body);
  if (answer.status !== 200 && answer.status !== 201) {
    const host = new URL(ctx.options.foremanUrl as string).hostname;
    throw new UpstreamStatus(
      `Error retrieving ${path} for ${rubyHash(opts)} from ${host}: ${netHttpClass(answer.status)}: ${answer.status} ${answer.reason}`,
      answer.status,
    );
  }
  return answer.body.toString('utf8');
}

export function unattendedRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });

  r.get('/templateServer', (_req, res) => okJson(res, { templateServer: ctx.options.templateUrl ?? '' }));

  /** log_halt(nil, prefix) { … }: the upstream status, or 400 when there was none. */
  async function handle(req: Request, res: Response, prefix: string, run: () => Promise<string>): Promise<void> {
    try {
      ok(res, await run());
    } catch (err) {
      const status = err instanceof UpstreamStatus ? err.status : 400;
      halt(req, res, status, prefix + (err as Error).message);
    }
  }

  r.get('/:kind/:template/:hostgroup', async (req, res) => {
    const { kind, template, hostgroup } = req.params;
    const params = routeParams(res, { kind, template, hostgroup });
    await handle(req, res, `Failed to retrieve ${kind} hostgroup template for ${rubyHash(params)}: `, () =>
      relay(ctx, req, res, 'GET', ['unattended', kind, template, hostgroup], params),
    );
  });

  r.get('/:kind/:template', async (req, res) => {
    const { kind, template } = req.params;
    const params = routeParams(res, { kind, template });
    await handle(req, res, `Failed to retrieve ${kind} hostgroup template for ${rubyHash(params)}: `, () =>
      relay(ctx, req, res, 'GET', ['unattended', kind, template], params),
    );
  });

  r.get('/:kind', async (req, res) => {
    const { kind } = req.params;
    const params = routeParams(res, { kind });
    await handle(req, res, `Failed to proxy /${kind} for ${rubyHash(params)}: `, () =>
      relay(ctx, req, res, 'GET', ['unattended', kind], params),
    );
  });

  r.post('/:kind', async (req, res) => {
    const { kind } = req.params;
    const params = routeParams(res, { kind });
    const prefix = `Failed to proxy /${kind} for ${rubyHash(params)}: `;
    params.set('Content-Type', 'text/plain');
    await handle(req, res, prefix, () => relay(ctx, req, res, 'POST', ['unattended', kind], params, requestState(res).rawBody));
  });

  return r;
}

export function userdataRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });

  async function handle(req: Request, res: Response, kind: string, params: Params, segments: string[]): Promise<void> {
    const prefix = `Failed to retrieve ${kind} userdata template for ${rubyHash(params)}: `;
    try {
      ok(res, await relay(ctx, req, res, 'GET', segments, params));
    } catch (err) {
      halt(req, res, 500, prefix + (err instanceof UpstreamError || err instanceof Error ? err.message : String(err)));
    }
  }

  r.get('/:kind', async (req, res) => {
    const { kind } = req.params;
    await handle(req, res, kind, routeParams(res, { kind }), ['userdata', kind]);
  });

  r.get('/:mac/:kind', async (req, res) => {
    const { mac, kind } = req.params;
    await handle(req, res, kind, routeParams(res, { mac, kind }), ['userdata', mac, kind]);
  });

  return r;
}
