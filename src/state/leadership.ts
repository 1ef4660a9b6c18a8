// Chores done once for the whole state, not once per instance (the drift schedule, retention
// clean-up), run on one instance: the leader. With SQLite the one instance always leads; with
// PostgreSQL the instances elect one (postgresql/leader-election.ts).

export interface Leadership {
  /** Whether this instance leads now: asked each time a chore is due. */
  readonly isLeader: boolean;
  /** The leading instance's id as the state knows it; null when none leads (or it cannot be told). */
  leaderId(): Promise<string | null>;
  start(): void;
  /** Gives the leadership up (another instance may take it at once). */
  stop(): Promise<void>;
}

/** One instance per state: it leads from start to stop. */
export class SoleLeader implements Leadership {
  private running = false;

  constructor(readonly selfId: string) {}

  get isLeader(): boolean {
    return this.running;
  }

  async leaderId(): Promise<string | null> {
    return this.running ? this.selfId : null;
  }

  start(): void {
    this.running = true;
  }

  async stop(): Promise<void> {
    this.running = false;
  }
}
