// `npm start`: the daemon in its demo configuration (config/demo.yaml) with the simulated smart
// proxies it names started as child processes on the ports its backend URLs give.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config/load.js';
import { Daemon } from './daemon.js';

const DEMO_CONFIG = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));
const SIM_MAIN = fileURLToPath(new URL('./sim/main.js', import.meta.url));

function startSim(name: string, port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SIM_MAIN, '--name', name, '--port', String(port), '--control-port', '0', '--tftproot', join(dir, name)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`simulated backend ${name} exited with ${code}`)));
  });
}

export async function runDemo(): Promise<Daemon> {
  const config = loadConfig(DEMO_CONFIG);
  const dir = mkdtempSync(join(tmpdir(), 'proxy-proxy-demo-'));
  const sims: ChildProcess[] = [];
  const killAll = () => sims.forEach((c) => c.kill('SIGTERM'));
  process.on('exit', killAll);
  for (const b of Object.values(config.backends)) {
    const url = new URL(b.url);
    sims.push(await startSim(b.name, Number(url.port), dir));
  }
  const daemon = new Daemon(config);
  await daemon.start();
  const base = daemon.url('http');
  daemon.logger.info(
    `demo ready: ${Object.keys(config.backends).length} simulated smart proxies (TFTP roots under ${dir}); try\n` +
      `  curl ${base}/features\n` +
      `  curl -d pxeconfig='default linux' ${base}/tftp/PXELinux/00:11:22:33:44:55\n` +
      `  curl ${base}/tftp/PXELinux/00:11:22:33:44:55`,
  );
  const stop = () => void daemon.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => void daemon.reload());
  return daemon;
}
