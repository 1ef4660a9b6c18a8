// Listening sockets handed over by systemd (socket activation, sd_listen_fds(3)): they outlive
// the process, so while proxy-proxy restarts (Restart=on-failure after a crash, or a plain
// restart) connections wait in the kernel's queue instead of being refused. That matters for
// hosts: yggd never retries a POST, and a refused exit update is a job that never ends.
// Each socket is matched to a configured listener by its name (FileDescriptorName=http|https in
// systemd/proxy-proxy.socket) or else by its port; the configuration stays the one truth.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const SCHEME_NAMES = ['http', 'https'];
/** First passed descriptor (SD_LISTEN_FDS_START). */
const FIRST_FD = 3;

export interface InheritedSocket {
  fd: number;
  /** From LISTEN_FDNAMES; '' when none was given. */
  name: string;
  /** Local TCP port, when it could be read (Linux /proc); undefined otherwise. */
  port: number | undefined;
}

/**
 * The sockets passed to this process, and the environment cleared of them (children must not
 * take them for theirs). None when LISTEN_PID names another process.
 */
export function takeInheritedSockets(env: NodeJS.ProcessEnv = process.env, pid = process.pid): InheritedSocket[] {
  const count = Number(env.LISTEN_FDS ?? '0');
  const forUs = env.LISTEN_PID === undefined || Number(env.LISTEN_PID) === pid;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (!forUs || !Number.isInteger(count) || count <= 0) return [];
  const ports = tcpPorts();
  return Array.from({ length: count }, (_, i) => {
    const fd = FIRST_FD + i;
    const name = names[i] ?? '';
    return { fd, name: name === 'unknown' ? '' : name, port: ports.get(fd) };
  });
}

/** Local ports of this process's TCP sockets by descriptor, from /proc (empty elsewhere). */
function tcpPorts(): Map<number, number> {
  const out = new Map<number, number>();
  try {
    const byInode = new Map<string, number>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      let text = '';
      try {
        text = readFileSync(table, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        // local_address is ADDR:PORT in hex; the inode is the tenth field.
        const port = f[1]?.split(':')[1];
        if (port && f[9]) byInode.set(f[9], parseInt(port, 16));
      }
    }
    for (const entry of readdirSync('/proc/self/fd')) {
      const fd = Number(entry);
      if (fd < FIRST_FD) continue;
      let link = '';
      try {
        link = readlinkSync(`/proc/self/fd/${entry}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      const port = inode && byInode.get(inode);
      if (port !== undefined && port !== '') out.set(fd, port);
    }
  } catch {
    /* no /proc: match by name only */
  }
  return out;
}

/**
 * Picks the socket for a configured listener: the one named after its scheme, else one not
 * named for a scheme on its port. Taken sockets are removed from `pool`.
 */
export function claimSocket(pool: InheritedSocket[], scheme: string, port: number): InheritedSocket | undefined {
  let i = pool.findIndex((s) => s.name === scheme && (port === 0 || s.port === undefined || s.port === port));
  // systemd names a socket after its unit unless FileDescriptorName= says otherwise.
  if (i < 0) i = pool.findIndex((s) => !SCHEME_NAMES.includes(s.name) && s.port !== undefined && s.port === port);
  if (i < 0) return undefined;
  return pool.splice(i, 1)[0];
}
