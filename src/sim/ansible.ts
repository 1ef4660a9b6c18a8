// /ansible: roles and playbooks read from --ansible-dir (roles/<name>/defaults/main.yml for
// variables, playbooks/<name>.yml), as smart_proxy_ansible lists them. No authorization filter.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router } from 'express';
import { parse } from 'yaml';
import type { SimContext } from './context.js';
import { okJson } from './headers.js';

export function ansibleRoles(dir: string | undefined): string[] {
  const roles = dir && join(dir, 'roles');
  if (!roles || !existsSync(roles)) return [];
  return readdirSync(roles, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

function roleVariables(dir: string | undefined, role: string): Record<string, unknown> {
  if (!dir || !ansibleRoles(dir).includes(role)) return {};
  const file = join(dir, 'roles', role, 'defaults', 'main.yml');
  try {
    const doc = existsSync(file) ? (parse(readFileSync(file, 'utf8')) as unknown) : {};
    return { [role]: doc && typeof doc === 'object' ? doc : {} };
  } catch {
    // smart_proxy_ansible answers {} for a role whose variables cannot be parsed.
    return {};
  }
}

function playbooks(dir: string | undefined): { name: string; playbooks_content: string }[] {
  const books = dir && join(dir, 'playbooks');
  if (!books || !existsSync(books)) return [];
  return readdirSync(books)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ name: f.replace(/\.ya?ml$/, ''), playbooks_content: readFileSync(join(books, f), 'utf8') }));
}

export function ansibleRouter(ctx: SimContext): Router {
  const dir = ctx.options.ansibleDir;
  const r = Router({ strict: true, caseSensitive: true });
  r.get('/roles', (_req, res) => okJson(res, ansibleRoles(dir)));
  r.get('/roles/variables', (_req, res) => okJson(res, Object.assign({}, ...ansibleRoles(dir).map((role) => roleVariables(dir, role)))));
  r.get('/roles/:role/variables', (req, res) => okJson(res, roleVariables(dir, req.params.role!)));
  r.get('/playbooks_names', (_req, res) => okJson(res, playbooks(dir).map((p) => p.name)));
  r.get('/playbooks', (_req, res) => okJson(res, playbooks(dir)));
  r.get('/playbooks/:names', (req, res) => {
    const wanted = req.params.names!.split(',');
    okJson(res, playbooks(dir).filter((p) => wanted.includes(p.name)));
  });
  return r;
}
