// --emulate-scripts: echo/exit scripts run in process (no /bin/sh), with the same updates a
// forked script gives; anything else still goes to the shell.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { emulateScript } from '../../src/sim/host/emulated-script.js';
import { issueHostCerts } from '../support/host-pki.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { createPki } from '../support/pki.js';
import { startFakeJobServer, startMessage, waitUntil, type FakeJobServer } from './fake-job-server.js';
import { startSimHostProcess, type SimHostProcess } from './sim-host-process.js';

describe('emulateScript', () => {
  it('prints echo lines and takes the exit code', () => {
    expect(emulateScript('echo ok')).toEqual({ stdout: 'ok\n', exitCode: 0 });
    expect(emulateScript('#!/bin/sh\necho hello  from web1\n\necho\nexit 3\necho never')).toEqual({ stdout: 'hello from web1\n\n', exitCode: 3 });
  });

  it('leaves anything needing shell rules to the shell', () => {
    for (const s of ['echo $HOME', 'echo "quoted"', 'echo a; echo b', 'sleep 1', 'echo ok\nexit 300', 'echo a > f']) expect(emulateScript(s)).toBeUndefined();
  });
});

const PROXY_URL = 'https://proxy.example.test:9090';

describe('simulated host with --emulate-scripts', () => {
  let broker: Mosquitto;
  let server: FakeJobServer;
  let sim: SimHostProcess;
  let publisher: MqttClient;
  let host: string;
  const updates = (uuid: string) => server.updatesFor(uuid).flatMap((p) => p.body.updates ?? []);

  beforeAll(async () => {
    const pki = await createPki();
    const [serverCert, names] = await Promise.all([
      pki.issue('proxy.example.test', { server: true }),
      issueHostCerts(pki, { count: 1, dir: join(pki.dir, 'hosts') }),
    ]);
    host = names[0]!;
    broker = await startMosquitto();
    server = await startFakeJobServer({ ca: pki.caCert, ...serverCert });
    sim = await startSimHostProcess(['--broker', broker.url!, '--emulate-scripts', '--data-host', new URL(server.url).host, '--cert-dir', join(pki.dir, 'hosts'), '--ca', pki.caCert]);
    publisher = await connectAsync(broker.url!, { clean: true, reconnectPeriod: 0 });
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await sim?.stop();
    await server?.close();
    await broker?.dispose();
  });

  it('runs an echo script without a process and a shell script with one, both reporting output and exit', async () => {
    const plain = server.addJob(host, 'echo ok\nexit 2\n');
    const shell = server.addJob(host, 'echo "$((1 + 1))"\n');
    for (const j of [plain, shell]) await publisher.publishAsync(`yggdrasil/${host}/data/in`, startMessage(PROXY_URL, j), { qos: 1 });
    await waitUntil('both exits', () => [plain, shell].every((j) => updates(j.uuid).some((u) => u.type === 'exit')));
    expect(updates(plain.uuid).map((u) => u.content ?? u.exit_code)).toEqual(['ok\n', 2]);
    expect(updates(shell.uuid).map((u) => u.content ?? u.exit_code)).toEqual(['2\n', 0]);
    const started = sim.events.filter((e) => e.event === 'started');
    expect(started.find((e) => e.job === plain.uuid)?.pid).toBeUndefined();
    expect(started.find((e) => e.job === shell.uuid)?.pid).toEqual(expect.any(Number));
  });
});
