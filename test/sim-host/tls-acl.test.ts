// The installer's broker setup (docs/protocol/rex-pull.md §4.3): TLS only, client certificate
// required, CN as username, the foreman ACL. Each simulated host connects with its own certificate
// like yggd; only the proxy's CN may publish doorbells.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { hostCn, issueHostCerts } from '../support/host-pki.js';
import { foremanAcl, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { createPki } from '../support/pki.js';
import { startFakeJobServer, startMessage, waitUntil, type FakeJobServer } from './fake-job-server.js';
import { startSimHostProcess, type SimHostProcess } from './sim-host-process.js';

const PROXY = 'proxy.example.test';

describe('simulated hosts on a TLS broker with the foreman ACL', () => {
  let broker: Mosquitto;
  let server: FakeJobServer;
  let sim: SimHostProcess;
  let proxy: MqttClient;
  let intruder: MqttClient;
  let names: string[];

  beforeAll(async () => {
    const pki = await createPki();
    const hostsDir = join(pki.dir, 'hosts');
    const [serverCert, hostNames] = await Promise.all([pki.issue(PROXY, { server: true }), issueHostCerts(pki, { count: 3, dir: hostsDir })]);
    names = hostNames;
    broker = await startMosquitto({
      plain: false,
      tls: { caFile: pki.caCert, certFile: serverCert.cert, keyFile: serverCert.key, acl: foremanAcl(PROXY) },
    });
    server = await startFakeJobServer({ ca: pki.caCert, ...serverCert });
    sim = await startSimHostProcess(['--broker', broker.tlsUrl!, '--hosts', '3', '--mqtt-host-certs', '--cert-dir', hostsDir, '--ca', pki.caCert]);
    const tls = (cert: string, key: string) => ({ ca: readFileSync(pki.caCert), cert: readFileSync(cert), key: readFileSync(key), reconnectPeriod: 0 });
    proxy = await connectAsync(broker.tlsUrl!, tls(serverCert.cert, serverCert.key));
    const other = hostCn(2);
    intruder = await connectAsync(broker.tlsUrl!, tls(join(hostsDir, `${other}.crt`), join(hostsDir, `${other}.key`)));
  });

  afterAll(async () => {
    await proxy?.endAsync();
    await intruder?.endAsync();
    if (sim) expect(await sim.stop()).toBe(0);
    await server?.close();
    await broker?.dispose();
  });

  it('connects one link per host, client id = CN', () => {
    expect(sim.events.find((e) => e.event === 'ready')).toMatchObject({ hosts: 3, connections: 3 });
    for (const name of names) expect(broker.log()).toContain(`as ${name}`);
  });

  it('runs a job the proxy publishes and ignores one another host forges', async () => {
    const target = names[0]!;
    const forged = server.addJob(target, 'echo forged\n');
    const real = server.addJob(target, 'echo real\n');
    // Published (and acknowledged) first: were the ACL letting it through, it would arrive first.
    await intruder.publishAsync(`yggdrasil/${target}/data/in`, startMessage(server.url, forged), { qos: 1 });
    await proxy.publishAsync(`yggdrasil/${target}/data/in`, startMessage(server.url, real), { qos: 1 });
    await waitUntil('the real job', () => server.updatesFor(real.uuid).some((p) => (p.body.updates ?? []).some((u) => u.type === 'exit')));
    expect(sim.events.filter((e) => e.event === 'doorbell' && e.job === forged.uuid)).toHaveLength(0);
    expect(server.fetches).toContainEqual(expect.objectContaining({ uuid: real.uuid, cn: target, status: 200 }));
  });
});
