// Lexical path checks: whether a relative path, cleaned as Ruby's Pathname#cleanpath and
// File.expand_path clean it, climbs above the directory it is resolved against.

/** The path's segments after removing '', '.' and 'name/..' pairs; leading '..' remain. */
export function cleanSegments(path: string): string[] {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push(seg);
  }
  return out;
}

/** A relative path that, resolved against a root, ends up outside it. */
export function escapesRoot(relative: string): boolean {
  return cleanSegments(relative)[0] === '..';
}
