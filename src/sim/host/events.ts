// What the simulated hosts report: one JSON line per event on stdout (--json-events), else a
// short text line on stderr (unless --quiet). Tests and benchmarks read the JSON lines.

export type SimHostEventName =
  | 'connected' // a broker connection is up (connection, hosts)
  | 'disconnected' // it went down; auto-reconnect follows
  | 'subscribed' // a host's data/in subscription was granted (again after each reconnect)
  | 'subscribe-refused' // the broker answered 0x80 for it (ACL)
  | 'ready' // every host subscribed at least once
  | 'doorbell' // a message on data/in was accepted (kind start|cancel)
  | 'rejected' // a message yggd would not route (reason)
  | 'fetched' // GET <content> answered (status, bytes, effectiveUser)
  | 'ignored' // a fetched job or cancel is dropped (reason)
  | 'started' // the script runs (pid)
  | 'cancelled' // SIGTERM sent to the script (pid), or a queued job dropped
  | 'cancel-unknown' // cancel for a job this host does not run
  | 'posted' // one update batch POSTed (status or error, updates, exit)
  | 'finished' // the script ended (exitCode, signal)
  | 'error';

export interface SimHostEvent {
  event: SimHostEventName;
  host?: string;
  job?: string;
  [field: string]: unknown;
}

export type EventSink = (e: SimHostEvent) => void;

export function makeEventSink(opts: { jsonEvents: boolean; quiet: boolean }): EventSink {
  return (e) => {
    const line = { ...e, t: Date.now() };
    if (opts.jsonEvents) {
      process.stdout.write(JSON.stringify(line) + '\n');
      return;
    }
    if (opts.quiet) return;
    const { event, ...rest } = e;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    process.stderr.write(`sim-host: ${event}${fields ? ' ' + fields : ''}\n`);
  };
}
