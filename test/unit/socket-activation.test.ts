// Which inherited socket serves which configured listener (sd_listen_fds protocol).
import { describe, it, expect } from '@jest/globals';
import { claimSocket, takeInheritedSockets, type InheritedSocket } from '../../src/http/socket-activation.js';

describe('socket activation', () => {
  it('takes only sockets meant for this process, and clears them from the environment', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_FDS: '2', LISTEN_PID: '1', LISTEN_FDNAMES: 'https:http', KEEP: 'x' };
    expect(takeInheritedSockets(env, 2)).toEqual([]);
    expect(env).toEqual({ KEEP: 'x' });
    const none: NodeJS.ProcessEnv = {};
    expect(takeInheritedSockets(none, 2)).toEqual([]);
  });

  it('numbers passed sockets from 3 and keeps their names', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_FDS: '2', LISTEN_PID: '7', LISTEN_FDNAMES: 'https:unknown' };
    expect(takeInheritedSockets(env, 7).map((s) => [s.fd, s.name])).toEqual([
      [3, 'https'],
      [4, ''],
    ]);
  });

  it('matches by scheme name first, else by port, each socket once', () => {
    const pool: InheritedSocket[] = [
      { fd: 3, name: 'proxy-proxy.socket', port: 8000 },
      { fd: 4, name: 'https', port: 8443 },
      { fd: 5, name: 'proxy-proxy.socket', port: 9999 },
    ];
    expect(claimSocket(pool, 'https', 8443)?.fd).toBe(4);
    expect(claimSocket(pool, 'https', 8443)).toBeUndefined();
    expect(claimSocket(pool, 'http', 8000)?.fd).toBe(3);
    expect(claimSocket(pool, 'http', 8001)).toBeUndefined();
    // A socket named for a scheme is not taken by the other scheme on its port.
    expect(claimSocket([{ fd: 3, name: 'https', port: 8000 }], 'http', 8000)).toBeUndefined();
    expect(pool.map((s) => s.fd)).toEqual([5]);
  });
});
