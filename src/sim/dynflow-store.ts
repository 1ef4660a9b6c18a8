// The simulated dynflow: tasks launched on this proxy and the timers that finish them.
export interface SimTask {
  id: string;
  parentId: string | null;
  operation: string;
  state: 'running' | 'stopped';
  result: 'pending' | 'success' | 'error' | 'cancelled';
  callback: unknown;
  input: unknown;
  startedAt: number;
  endedAt: number | null;
  /** Callback POSTs to Foreman and their status (or error). */
  callbacks: string[];
}

export class DynflowStore {
  readonly tasks = new Map<string, SimTask>();
  private readonly timers = new Set<NodeJS.Timeout>();

  add(task: Omit<SimTask, 'state' | 'result' | 'startedAt' | 'endedAt' | 'callbacks'>): SimTask {
    const t: SimTask = { ...task, state: 'running', result: 'pending', startedAt: Date.now(), endedAt: null, callbacks: [] };
    this.tasks.set(t.id, t);
    return t;
  }

  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  reset(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.tasks.clear();
  }

  snapshot(): SimTask[] {
    return [...this.tasks.values()];
  }
}
