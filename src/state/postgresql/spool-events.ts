// What one instance tells the others about the shared spool, by LISTEN/NOTIFY on one channel:
// a launch (ring its doorbells now), a finished job (its callback is owed, its rate-limit slot
// free), a stop (publish the MQTT cancel). Notifications are a shortcut, not the record: an
// instance that missed one (reconnecting) finds the same work on its next scheduler round.
import type pg from 'pg';
import { ChannelListener } from './channel-listener.js';

export const SPOOL_CHANNEL = 'proxy_proxy_rex';
export type SpoolEvent = 'launched' | 'finished' | 'stopping';
const EVENTS: readonly string[] = ['launched', 'finished', 'stopping'];

/** One dedicated connection LISTENing (a pooled one would be handed to others); reconnects by itself. */
export class SpoolListener {
  private readonly listener: ChannelListener;

  constructor(config: pg.ClientConfig, onEvent: (event: SpoolEvent) => void, onProblem: (message: string) => void = () => undefined) {
    this.listener = new ChannelListener(config, SPOOL_CHANNEL, {
      onNotify: (payload) => {
        if (EVENTS.includes(payload)) onEvent(payload as SpoolEvent);
      },
      // Whatever was announced while we were away: act as if everything happened.
      onConnected: () => {
        for (const e of EVENTS) onEvent(e as SpoolEvent);
      },
      onProblem,
      label: 'spool notifications',
    });
  }

  start(): void {
    this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }
}
