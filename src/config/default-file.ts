// Where the configuration is read from unless --config says otherwise.
export const DEFAULT_CONFIG_FILE = '/etc/proxy-proxy/proxy-proxy.yaml';
