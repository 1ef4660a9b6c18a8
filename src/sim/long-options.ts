// `--name value`, `--name=value` and bare `--flag` parsing shared by the simulators' commands.

export class UsageError extends Error {}

export function parseLongOptions(argv: string[], flags: ReadonlySet<string>, values: ReadonlySet<string>): Map<string, string> {
  const raw = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument: ${arg}`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (flags.has(name)) {
      raw.set(name, eq >= 0 ? arg.slice(eq + 1) : 'true');
      continue;
    }
    if (!values.has(name)) throw new UsageError(`unknown option: --${name}`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    raw.set(name, value);
  }
  return raw;
}
