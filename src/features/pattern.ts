// Route patterns (`/tftp/:variant/:mac`, `/httpboot/*path`, `/dns/?`) compiled to one RegExp
// each. The router runs these for every request, so a match is one `exec` plus decoding the
// captured parameters; nothing is built per request beyond the result object.

export type PathMatcher = (path: string) => Record<string, string> | undefined;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `:name` matches one non-empty segment, `*name` (last segment only) the rest of the path,
 * possibly empty and containing '/', as Sinatra's splat. A trailing `/?` makes a final slash
 * optional; without it a trailing slash does not match (the smart proxy answers 404).
 * Literal segments match case-sensitively. Parameters are percent-decoded.
 */
export function compilePattern(pattern: string): PathMatcher {
  if (!pattern.startsWith('/')) throw new Error(`route pattern must start with '/': ${pattern}`);
  const optionalSlash = pattern.length > 2 && pattern.endsWith('/?');
  const body = optionalSlash ? pattern.slice(0, -2) : pattern;
  const segments = body.slice(1).split('/');
  const names: string[] = [];
  let source = '^';
  segments.forEach((seg, i) => {
    if (seg.startsWith(':') || seg.startsWith('*')) {
      const name = seg.slice(1);
      if (!NAME.test(name)) throw new Error(`bad parameter name '${seg}' in ${pattern}`);
      if (names.includes(name)) throw new Error(`parameter '${name}' repeated in ${pattern}`);
      names.push(name);
      if (seg.startsWith('*')) {
        if (i !== segments.length - 1 || optionalSlash) throw new Error(`a splat must end the pattern: ${pattern}`);
        source += '/(.*)';
      } else {
        source += '/([^/]+)';
      }
    } else {
      if (seg.includes(':') || seg.includes('*') || seg.includes('?')) throw new Error(`unsupported syntax in ${pattern}`);
      if (seg === '' && segments.length > 1) throw new Error(`empty segment in ${pattern}`);
      source += '/' + escapeRegExp(seg);
    }
  });
  if (optionalSlash) source += '/?';
  source += '$';
  const re = new RegExp(source);

  return (path: string) => {
    const m = re.exec(path);
    if (!m) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) params[names[i]!] = percentDecode(m[i + 1]!);
    return params;
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes %XX escapes as URI.unescape does for Sinatra's route params: '+' stays '+', an
 * escape that is not two hex digits stays as written. Bytes that do not form UTF-8 are kept
 * in their escaped form rather than replaced, so no text is invented.
 */
export function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = Buffer.from(run.replace(/%/g, ''), 'hex');
    try {
      return UTF8.decode(bytes);
    } catch {
      return run;
    }
  });
}
