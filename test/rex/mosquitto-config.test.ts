// The broker setup `proxy-proxy mosquitto-config` prints, run in a real Mosquitto: a host cannot
// read another host's doorbells or ring another host; proxy-proxy can ring every host.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { parseConfig } from '../../src/config/load.js';
import { mosquittoFiles } from '../../src/rex/mosquitto-config.js';
import { createPki, type Pki } from '../support/pki.js';
import { freePort, mosquittoBinary } from '../support/mosquitto.js';

async function waitForPort(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = tcpConnect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`mosquitto did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('mosquitto-config output in a real Mosquitto', () => {
  let pki: Pki;
  let broker: ChildProcess;
  let port: number;
  const clients: MqttClient[] = [];

  const as = async (cn: string): Promise<MqttClient> => {
    const c = await pki.issue(cn);
    const client = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
      ca: readFileSync(pki.caCert),
      cert: readFileSync(c.cert),
      key: readFileSync(c.key),
      clientId: cn,
      clean: true,
      reconnectPeriod: 0,
      rejectUnauthorized: true,
    });
    clients.push(client);
    await new Promise<void>((ok, fail) => {
      client.once('connect', () => ok());
      client.once('error', fail);
    });
    return client;
  };

  beforeAll(async () => {
    pki = await createPki();
    const dir = mkdtempSync(join(tmpdir(), 'pp-mosq-cfg-'));
    port = await freePort();
    const brokerCert = await pki.issue('localhost', { server: true });
    const own = await pki.issue('proxy-proxy.example.test');
    const cfg = parseConfig(`http_port: 0
state_dir: ${dir}
foreman_url: https://foreman.example.test
rex:
  enabled: true
  mqtt:
    broker: mqtts://127.0.0.1:${port}
    ssl_certificate: ${own.cert}
    ssl_private_key: ${own.key}
    ssl_ca_file: ${pki.caCert}
features:
  logs: {}
`);
    const files = mosquittoFiles(cfg, { brokerCert: brokerCert.cert, brokerKey: brokerCert.key, aclFile: join(dir, 'foreman.acl') });
    expect(files.proxyCn).toBe('proxy-proxy.example.test');
    expect(files.conf).toContain(`listener ${port}`);
    writeFileSync(join(dir, 'foreman.acl'), files.acl);
    // As root, Mosquitto would drop to its own user, which cannot read the temp files.
    writeFileSync(join(dir, 'mosquitto.conf'), files.conf + (process.getuid?.() === 0 ? 'user root\n' : ''));
    broker = spawn(mosquittoBinary(), ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    await waitForPort(port, 10_000);
  });
  afterAll(async () => {
    for (const c of clients) c.end(true);
    broker?.kill('SIGTERM');
  });

  it('delivers proxy-proxy doorbells to their host only, and drops a doorbell forged by another host', async () => {
    const hostA = await as('hosta.example.test');
    const hostB = await as('hostb.example.test');
    const proxy = await as('proxy-proxy.example.test');
    const seenByA: string[] = [];
    const seenByB: string[] = [];
    hostA.on('message', (topic, payload) => seenByA.push(`${topic} ${payload.toString()}`));
    hostB.on('message', (topic, payload) => seenByB.push(`${topic} ${payload.toString()}`));
    await hostA.subscribeAsync(['yggdrasil/hostb.example.test/data/in', 'yggdrasil/hosta.example.test/data/in'], { qos: 1 });
    await hostB.subscribeAsync('yggdrasil/hostb.example.test/data/in', { qos: 1 });

    await hostA.publishAsync('yggdrasil/hostb.example.test/data/in', 'forged', { qos: 1 }).catch(() => undefined);
    await proxy.publishAsync('yggdrasil/hostb.example.test/data/in', 'for b', { qos: 1 });
    await proxy.publishAsync('yggdrasil/hosta.example.test/data/in', 'for a', { qos: 1 });
    const end = Date.now() + 3000;
    while ((seenByA.length < 1 || seenByB.length < 1) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(seenByB).toEqual(['yggdrasil/hostb.example.test/data/in for b']);
    expect(seenByA).toEqual(['yggdrasil/hosta.example.test/data/in for a']);
  });
});
