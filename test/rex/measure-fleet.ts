// By hand, after `npm run build`:  node dist/test/rex/measure-fleet.js [hosts] [embedded|mosquitto]
// proxy-proxy in this process (spool, broker unless mosquitto, a fake Foreman), the hosts in a
// child process (fleet-hosts.ts), so that the daemon's own CPU time and memory can be read
// apart from the simulation's. Prints runFleet's figures plus those.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { fleetNames, inParallel, runFleet } from './fleet.js';
import { foremanAcl, startMosquitto } from '../support/mosquitto.js';
import { createWorld, PROXY_CN, startFakeForeman, startRexDaemon } from './rex-harness.js';

const n = Number(process.argv[2] ?? 1000);
const world = await createWorld();
const foreman = await startFakeForeman(world);
// The installer's Mosquitto (TLS, identity as username, foreman.acl) in its own process.
const mosquitto =
  process.argv[3] === 'mosquitto'
    ? await startMosquitto({ plain: false, tls: { caFile: world.pki.caCert, certFile: world.proxy.cert, keyFile: world.proxy.key, acl: foremanAcl(PROXY_CN) } })
    : undefined;
const broker = mosquitto?.tlsUrl ?? 'embedded';
// REX_RATE_LIMIT=<n>: rex.mqtt.rate_limit for this run (default: the configuration default).
const rateLimit = process.env.REX_RATE_LIMIT === undefined ? {} : { rate_limit: Number(process.env.REX_RATE_LIMIT) };
const rex = await startRexDaemon(world, foreman, { top: { log_level: 'WARN' }, rex: { mqtt: { broker, embedded_bind: '127.0.0.1', embedded_port: 0, ...rateLimit } } });
const names = fleetNames(n);
const certs: Record<string, string> = {};
let key = '';
let ca = '';
await inParallel(names, 8, async (cn) => {
  const f = await world.hostFiles(cn);
  certs[cn] = f.cert;
  key = f.key;
  ca = f.ca;
});
const child = spawn(process.execPath, [fileURLToPath(new URL('./fleet-hosts.js', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout! });
const ready = new Promise<void>((resolve, reject) => {
  lines.once('line', (l) => (l === 'ready' ? resolve() : reject(new Error(l))));
  child.once('exit', (code) => reject(new Error(`hosts exited with ${code}`)));
});
child.stdin!.write(`${JSON.stringify({ broker: mosquitto?.tlsUrl ?? rex.mqttUrl, ca, key, certs })}\n`);
await ready;
const rssConnected = Math.round(process.memoryUsage().rss / 1e6);
// REX_PROFILE=<file>: a CPU profile of this process over the run (chrome devtools format).
const profile = process.env.REX_PROFILE;
const session = profile ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const cpu0 = process.cpuUsage();
const result = await runFleet(foreman, rex, names, 600_000);
if (session) writeFileSync(profile!, JSON.stringify((await session.post('Profiler.stop')).profile));
const cpu = process.cpuUsage(cpu0);
const mem = process.memoryUsage();
process.stderr.write(`memory after the run: ${JSON.stringify(Object.fromEntries(Object.entries(mem).map(([k, v]) => [k, Math.round(v / 1e6)])))} MB; ${rssConnected} MB with the hosts connected, before the launch; broker clients ${rex.daemon.rex!.embeddedBroker?.connectedClients ?? 'external'}; open HTTPS connections ${await new Promise<number>((r) => rex.daemon.listeners[0]!.server.getConnections((_e, c) => r(c)))}\n`);
const daemonCpuMs = Math.round((cpu.user + cpu.system) / 1000);
process.stdout.write(`${JSON.stringify({ ...result, daemonCpuMs, daemonCpuMsPerJob: Math.round((daemonCpuMs / n) * 100) / 100 })}\n`);
child.stdin!.end();
await new Promise((r) => child.once('exit', r));
await rex.stop();
await mosquitto?.dispose();
await foreman.close();
