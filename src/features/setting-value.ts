// Settings overrides from the config, as local handlers need them: a value to answer with,
// or undefined when nothing is configured and a backend should answer instead.
import type { LocalContext } from './route.js';

export function settingText(ctx: LocalContext, key: string): string | undefined {
  const v = ctx.settings[key];
  if (v === undefined || v === null || v === '') return undefined;
  return String(v);
}
