// Whether a module is the script node was started with (and not imported by the CLI).
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function executedDirectly(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}
