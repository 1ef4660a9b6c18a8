// The host half of measure-fleet.ts, in its own process so that the daemon's CPU time can be
// told apart from the simulation's. Reads one JSON line on stdin: {broker, certDir, names};
// prints "ready" once every host is subscribed, then "done <n>" lines as results go out.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { TestHost } from './rex-harness.js';

interface Orders {
  broker: string;
  ca: string;
  key: string;
  certs: Record<string, string>;
}

const line = await new Promise<string>((resolve) => createInterface({ input: process.stdin }).once('line', resolve));
const orders = JSON.parse(line) as Orders;
const ca = readFileSync(orders.ca);
const key = readFileSync(orders.key);
const hosts = Object.entries(orders.certs).map(([cn, cert]) => new TestHost(cn, { cert: readFileSync(cert), key, ca }));
let next = 0;
await Promise.all(
  Array.from({ length: 50 }, async () => {
    while (next < hosts.length) await hosts[next++]!.connect(orders.broker);
  }),
);
process.stdout.write('ready\n');
// Exits when the parent closes stdin.
process.stdin.resume();
process.stdin.on('end', () => {
  Promise.all(hosts.map((h) => h.close())).then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
});
