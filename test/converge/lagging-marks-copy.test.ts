// The instance's copy of the lagging marks is re-read when a read overlapped a change of this
// instance's marks; a write that marks nothing is no such change (with steady writes every
// re-read would overlap one and be read again, round after round).
import { describe, it, expect } from '@jest/globals';
import { LaggingMarks } from '../../src/converge/lagging-marks.js';
import type { Logger } from '../../src/ops/logger.js';
import type { LaggingMark, StateStore } from '../../src/state/store.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger;

/** A store whose reads of the marks wait until released; counts them. */
function gatedStore(marks: LaggingMark[]) {
  let release: () => void = () => {};
  const state = { reads: 0 };
  const store = {
    laggingBackends: async () => {
      state.reads++;
      const now = [...marks];
      await new Promise<void>((r) => (release = r));
      return now;
    },
    markLagging: async () => {},
  } as unknown as StateStore;
  return { store, state, release: () => release() };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('lagging marks copy', () => {
  it('a write that marks nothing during a read does not make the read run again', async () => {
    const g = gatedStore([{ feature: 'tftp', backend: 'b', since: 1 }]);
    const marks = new LaggingMarks(() => g.store, quiet);
    marks.refresh();
    await settle();
    await marks.markWith('tftp', [], async () => 'done');
    g.release();
    await settle();
    expect(g.state.reads).toBe(1);
    expect(marks.has('tftp', 'b')).toBe(true);
  });

  it('a write that marks a backend during a read makes it run again, and the mark is kept', async () => {
    const stored: LaggingMark[] = [];
    const g = gatedStore(stored);
    const marks = new LaggingMarks(() => g.store, quiet);
    marks.refresh();
    await settle();
    // The first read began before the mark was stored: its answer is stale.
    await marks.markWith('dhcp', ['c'], async () => void stored.push({ feature: 'dhcp', backend: 'c', since: 2 }));
    g.release();
    await settle();
    expect(g.state.reads).toBe(2);
    g.release();
    await settle();
    expect(marks.has('dhcp', 'c')).toBe(true);
  });
});
