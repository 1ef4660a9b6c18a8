// Texts the smart proxy's Foreman relays produce with Ruby's own formatting: Rack's query
// parsing, CGI.escape, Hash#inspect and the Net::HTTP response class names. Hosts and their
// logs see these strings in error answers, so they are reproduced here (docs/host-identity.md).

/** Request parameters in Ruby Hash order: first appearance of a key, last value wins (Rack). */
export type RubyParams = Map<string, string | null>;

/** Rack 2's decoding of one query component: '+' is a space, %XX a byte; bad escapes stay as they are. */
function unescape(text: string): string {
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/**
 * Rack::Utils.parse_nested_query for flat keys: pairs split on '&' or ';', a key without '='
 * has the value nil. Bracketed keys (`a[b]=1`) are kept as flat names.
 */
export function parseRackQuery(raw: string, into: RubyParams = new Map()): RubyParams {
  for (const piece of raw.split(/[&;] */)) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const key = unescape(eq === -1 ? piece : piece.slice(0, eq));
    into.set(key, eq === -1 ? null : unescape(piece.slice(eq + 1)));
  }
  return into;
}

/** Ruby's CGI.escape: unreserved characters stay, a space becomes '+', the rest %XX (UTF-8). */
export function cgiEscape(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.~-]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The smart proxy's ForemanRequestFactory#query_string: nil values left out. */
export function queryString(params: Iterable<[string, string | null]>): string {
  const pairs: string[] = [];
  for (const [k, v] of params) if (v !== null) pairs.push(`${cgiEscape(k)}=${cgiEscape(v)}`);
  return pairs.join('&');
}

const NAMED_ESCAPES: Record<string, string> = {
  '\n': '\\n',
  '\t': '\\t',
  '\r': '\\r',
  '\f': '\\f',
  '\v': '\\v',
  '\b': '\\b',
  '\x07': '\\a',
  '\x1b': '\\e',
  '"': '\\"',
  '\\': '\\\\',
};

/** String#inspect of a UTF-8 string. */
export function rubyString(text: string): string {
  let out = '"';
  const chars = [...text];
  chars.forEach((ch, i) => {
    const code = ch.codePointAt(0)!;
    if (NAMED_ESCAPES[ch]) out += NAMED_ESCAPES[ch];
    // "#{", "#$" and "#@" would interpolate, so inspect escapes the '#'.
    else if (ch === '#' && ['{', '$', '@'].includes(chars[i + 1] ?? '')) out += '\\#';
    else if (code === 0x7f) out += '\\x7F';
    else if (code < 0x20 || (code >= 0x80 && code < 0xa0)) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  });
  return `${out}"`;
}

/** Hash#inspect of string keys and string-or-nil values (Ruby 3.1: `{"k"=>"v", "n"=>nil}`). */
export function rubyHash(params: Iterable<[string, string | null]>): string {
  const parts: string[] = [];
  for (const [k, v] of params) parts.push(`${rubyString(k)}=>${v === null ? 'nil' : rubyString(v)}`);
  return `{${parts.join(', ')}}`;
}

const NET_HTTP_CLASSES: Record<number, string> = {
  100: 'Continue', 101: 'SwitchProtocol', 102: 'Processing', 103: 'EarlyHints',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'NonAuthoritativeInformation', 204: 'NoContent',
  205: 'ResetContent', 206: 'PartialContent', 207: 'MultiStatus', 208: 'AlreadyReported', 226: 'IMUsed',
  300: 'MultipleChoices', 301: 'MovedPermanently', 302: 'Found', 303: 'SeeOther', 304: 'NotModified',
  305: 'UseProxy', 307: 'TemporaryRedirect', 308: 'PermanentRedirect',
  400: 'BadRequest', 401: 'Unauthorized', 402: 'PaymentRequired', 403: 'Forbidden', 404: 'NotFound',
  405: 'MethodNotAllowed', 406: 'NotAcceptable', 407: 'ProxyAuthenticationRequired', 408: 'RequestTimeout',
  409: 'Conflict', 410: 'Gone', 411: 'LengthRequired', 412: 'PreconditionFailed', 413: 'PayloadTooLarge',
  414: 'URITooLong', 415: 'UnsupportedMediaType', 416: 'RangeNotSatisfiable', 417: 'ExpectationFailed',
  421: 'MisdirectedRequest', 422: 'UnprocessableEntity', 423: 'Locked', 424: 'FailedDependency',
  426: 'UpgradeRequired', 428: 'PreconditionRequired', 429: 'TooManyRequests',
  431: 'RequestHeaderFieldsTooLarge', 451: 'UnavailableForLegalReasons',
  500: 'InternalServerError', 501: 'NotImplemented', 502: 'BadGateway', 503: 'ServiceUnavailable',
  504: 'GatewayTimeout', 505: 'VersionNotSupported', 506: 'VariantAlsoNegotiates', 507: 'InsufficientStorage',
  508: 'LoopDetected', 510: 'NotExtended', 511: 'NetworkAuthenticationRequired',
};

const NET_HTTP_FAMILIES = ['UnknownResponse', 'Information', 'Success', 'Redirection', 'ClientError', 'ServerError'];

/** The Net::HTTPResponse subclass Ruby picks for a status (`Net::HTTPNotFound`). */
export function netHttpClass(status: number): string {
  return `Net::HTTP${NET_HTTP_CLASSES[status] ?? NET_HTTP_FAMILIES[Math.floor(status / 100)] ?? 'UnknownResponse'}`;
}
