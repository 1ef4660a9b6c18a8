// The URL formats the schema names. Ajv's own `uri` format needs ajv-formats and accepts any
// scheme; proxy-proxy only ever speaks http(s), so the check is this narrow on purpose.

function parseHttpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Any http:// or https:// URL (foreman_url may carry a sub-path). */
export function isHttpUrl(value: string): boolean {
  return parseHttpUrl(value) !== undefined && !/\s/.test(value);
}

/**
 * An http(s) URL naming a server only: request paths are appended to it unchanged, so a path,
 * query, fragment or credentials would silently change every request.
 */
export function isHttpBaseUrl(value: string): boolean {
  const url = parseHttpUrl(value);
  return (
    url !== undefined &&
    !/\s/.test(value) &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === '' &&
    url.username === '' &&
    url.password === '' &&
    !value.includes('?') &&
    !value.includes('#')
  );
}

/**
 * Where remote-execution doorbells are published: 'embedded' (the broker inside the daemon) or
 * an mqtt:// / mqtts:// URL naming a server only.
 */
export function isMqttBroker(value: string): boolean {
  if (value === 'embedded') return true;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'mqtt:' || url.protocol === 'mqtts:') &&
    url.hostname !== '' &&
    !/\s/.test(value) &&
    (url.pathname === '' || url.pathname === '/') &&
    url.search === '' &&
    url.hash === '' &&
    url.username === '' &&
    url.password === ''
  );
}
