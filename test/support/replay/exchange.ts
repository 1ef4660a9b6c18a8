// One recorded exchange with the real smart proxy (format: test/fixtures/recorded/README.md),
// and the loader that reads them in file order (state carries over from one to the next).
import { readFileSync } from 'node:fs';
import { RECORDED_FILE } from '../recorded.js';

export interface Exchange {
  id: string;
  note: string;
  request: {
    method: string;
    path: string;
    query?: Record<string, string>;
    headers: Record<string, string>;
    form?: Record<string, string>;
    body?: string;
    scheme?: 'https';
    client_cert?: string | null;
  };
  response: {
    status: number;
    content_type: string | null;
    headers: Record<string, string>;
    body: string;
    body_truncated?: boolean;
  };
  effects?: {
    tftproot?: 'unchanged' | { created?: Record<string, string>; changed?: Record<string, string>; removed?: string[] };
    dig?: Record<string, string[]>;
    dhcpd?: Record<string, string | null>;
    upstream_requests?: string[];
  };
}

export function loadExchanges(): Exchange[] {
  return readFileSync(RECORDED_FILE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Exchange);
}

/** Exchanges whose unused_ip answer is random: checked for range and freeness instead. */
export const RANDOM_IP = new Set(['dhcp-unused-ip', 'dhcp-unused-ip-range', 'dhcp-unused-ip-range-mac']);

/** /logs answers whose records are judged by shape (the two others have fixed bodies). */
export function isLogsBody(ex: Exchange): boolean {
  return ex.id.startsWith('logs-') && ex.id !== 'logs-marker-request' && ex.id !== 'logs-from-timestamp-future';
}
