// Splits a request-target into the path the routes see and the raw query. Foreman's client
// produces `//` (openscap base URLs, empty sub-paths); the smart proxy collapses them, and so do
// we. A trailing slash is kept: it selects a different route, as on the smart proxy.

export interface RequestTarget {
  path: string;
  rawQuery: string;
}

export function parseRequestTarget(url: string): RequestTarget {
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  const path = rawPath.includes('//') ? rawPath.replace(/\/{2,}/g, '/') : rawPath;
  return { path: path === '' ? '/' : path, rawQuery };
}
