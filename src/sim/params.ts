// Request parameters the way Rack/Sinatra see them: query and form pairs merged into one ordered
// hash (form wins, a key keeps its first position), `name[]` keys collected into arrays, a key
// without `=` giving nil. Error texts of the real proxy dump this hash with Ruby's #inspect.

export type ParamValue = string | null | string[];
export type Params = Map<string, ParamValue>;

/** application/x-www-form-urlencoded unescaping that leaves broken %-sequences alone. */
export function formUnescape(s: string): string {
  const plus = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus.replace(/(%[0-9a-fA-F]{2})+/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return m;
      }
    });
  }
}

/** Rack::Utils.parse_nested_query, reduced to flat keys and `key[]` arrays. */
export function parseParams(text: string, into: Params = new Map()): Params {
  if (text === '') return into;
  for (const part of text.split(/[&;] */)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = formUnescape(eq >= 0 ? part.slice(0, eq) : part);
    const value = eq >= 0 ? formUnescape(part.slice(eq + 1)) : null;
    if (key === '') continue;
    if (key.endsWith('[]') && key.length > 2) {
      const name = key.slice(0, -2);
      const prev = into.get(name);
      const arr = Array.isArray(prev) ? prev : [];
      arr.push(value ?? '');
      into.set(name, arr);
    } else {
      into.set(key, value);
    }
  }
  return into;
}

/** The value of a parameter as a single string, as `params[:x]` would give for a scalar. */
export function paramString(params: Params, key: string): string | undefined {
  const v = params.get(key);
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? undefined : v;
}

/** Ruby's String#inspect for UTF-8 strings. */
export function rubyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const code = s.charCodeAt(i);
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '#' && (s[i + 1] === '{' || s[i + 1] === '$' || s[i + 1] === '@')) out += '\\#';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (ch === '\b') out += '\\b';
    else if (code === 7) out += '\\a';
    else if (code === 27) out += '\\e';
    else if (code < 0x20 || code === 0x7f) out += '\\u' + code.toString(16).toUpperCase().padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

function rubyValue(v: ParamValue): string {
  if (v === null) return 'nil';
  if (Array.isArray(v)) return '[' + v.map(rubyString).join(', ') + ']';
  return rubyString(v);
}

/** Hash#inspect of Ruby 3.1: {"a"=>"b", "c"=>nil}. */
export function rubyHash(params: Params): string {
  const parts: string[] = [];
  for (const [k, v] of params) parts.push(`${rubyString(k)}=>${rubyValue(v)}`);
  return '{' + parts.join(', ') + '}';
}

/** URI.encode_www_form_component: only *-.0-9A-Z_a-z stay, space becomes '+'. */
export function wwwFormComponent(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[*\-.0-9A-Z_a-z]/.test(c)) out += c;
    else if (byte === 0x20) out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** URI.encode_www_form of an ordered hash (arrays repeat the key, nil gives a bare key). */
export function wwwForm(params: Params): string {
  const parts: string[] = [];
  for (const [k, v] of params) {
    const key = wwwFormComponent(k);
    if (v === null) parts.push(key);
    else if (Array.isArray(v)) for (const item of v) parts.push(`${key}=${wwwFormComponent(item)}`);
    else parts.push(`${key}=${wwwFormComponent(v)}`);
  }
  return parts.join('&');
}

/** CGI.escape: unreserved a-zA-Z0-9_.-~ stay, space becomes '+'. */
export function cgiEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[a-zA-Z0-9_.\-~]/.test(c)) out += c;
    else if (byte === 0x20) out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}
