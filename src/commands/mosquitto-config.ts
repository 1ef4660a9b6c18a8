// `proxy-proxy mosquitto-config`: the Mosquitto listener fragment, or with --acl its ACL file,
// derived from the daemon's config.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import { action } from './outcome.js';
import { port } from './options.js';

interface Flags {
  config: string;
  acl?: boolean;
  port?: number;
  aclFile: string;
  brokerCert: string;
  brokerKey: string;
}

export function register(program: Command): void {
  program
    .command('mosquitto-config')
    .description('print the Mosquitto listener setup (or with --acl its ACL file) for this config')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG_FILE)
    .option('--acl', 'print the ACL file instead of the listener fragment')
    .option('--port <n>', 'broker listener port (default: from rex.mqtt.url)', port)
    .option('--acl-file <file>', 'where the ACL file will live', '/etc/mosquitto/foreman.acl')
    .option('--broker-cert <file>', "the broker's certificate", '/etc/mosquitto/ssl/broker.crt')
    .option('--broker-key <file>', "the broker's private key", '/etc/mosquitto/ssl/broker.key')
    .action(
      action(async (opts: Flags) => {
        const { mosquittoFiles } = await import('../rex/mosquitto-config.js');
        const files = mosquittoFiles(loadConfig(opts.config), opts);
        process.stdout.write(opts.acl ? files.acl : files.conf);
        return 0;
      }),
    );
}
