// `proxy-proxy schema`: the config's JSON schema, for editors.
import type { Command } from 'commander';
import { action } from './outcome.js';

export function register(program: Command): void {
  program
    .command('schema')
    .description("print the configuration's JSON schema (for editors)")
    .action(
      action(async () => {
        const { configSchema } = await import('../config/schema.js');
        process.stdout.write(`${JSON.stringify(configSchema, null, 2)}\n`);
        return 0;
      }),
    );
}
