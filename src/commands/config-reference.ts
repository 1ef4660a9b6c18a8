// `proxy-proxy config-reference`: docs/configuration.md, generated from the schema.
import type { Command } from 'commander';
import { action } from './outcome.js';

export function register(program: Command): void {
  program
    .command('config-reference')
    .description('print the configuration reference (docs/configuration.md)')
    .action(
      action(async () => {
        process.stdout.write((await import('../config/reference-doc.js')).configurationReference());
        return 0;
      }),
    );
}
