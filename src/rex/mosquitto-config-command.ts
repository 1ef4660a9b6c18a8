// The mosquitto-config sub-command: prints the listener fragment, or with --acl the ACL file.
import { loadConfig } from '../config/load.js';
import { mosquittoFiles } from './mosquitto-config.js';

export function mosquittoConfigCommand(args: string[], defaultConfig: string, usage: (m: string) => Error): number {
  let config = defaultConfig;
  let acl = false;
  let port: number | undefined;
  let aclFile = '/etc/mosquitto/foreman.acl';
  let brokerCert = '/etc/mosquitto/ssl/broker.crt';
  let brokerKey = '/etc/mosquitto/ssl/broker.key';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw usage(`${a} needs a value`);
      return v;
    };
    if (a === '--config' || a === '-c') config = value();
    else if (a === '--acl') acl = true;
    else if (a === '--port') port = Number(value());
    else if (a === '--acl-file') aclFile = value();
    else if (a === '--broker-cert') brokerCert = value();
    else if (a === '--broker-key') brokerKey = value();
    else throw usage(`unknown argument: ${a}`);
  }
  const files = mosquittoFiles(loadConfig(config), { aclFile, brokerCert, brokerKey, port });
  process.stdout.write(acl ? files.acl : files.conf);
  return 0;
}
