// The status page's pictures: a health strip draws each stretch of a backend's hour with its
// state, a short down stays visible, tooltips and text alternatives say what is drawn.
import { describe, it, expect } from '@jest/globals';
import { healthStrip, segments, sparkline, spoolBar } from '../../src/ops/status-charts.js';
import { renderMain, type StatusView } from '../../src/ops/status-page.js';
import type { HistoryView } from '../../src/ops/status-history.js';

const HOUR = 3_600_000;
const T0 = 1_700_000_000_000;

/** [state, x, width] of every <rect> in an SVG. */
function rects(svg: string): [string, number, number][] {
  return [...svg.matchAll(/<rect[^>]*data-state="([^"]+)" x="([^"]+)" y="0" width="([^"]+)"/g)].map((m) => [m[1]!, Number(m[2]), Number(m[3])]);
}

describe('status charts', () => {
  it('draws a strip of states over the window, no data before the first reading', () => {
    const from = T0;
    const to = T0 + HOUR;
    const svg = healthStrip('sim-b', [
      { at: T0 + HOUR / 2, state: 'up', why: 'start' },
      { at: T0 + (3 * HOUR) / 4, state: 'down', why: 'health check failed: ECONNREFUSED' },
    ], from, to);
    expect(rects(svg)).toEqual([
      ['unknown', 0, 300],
      ['up', 300, 150],
      ['down', 450, 150],
    ]);
    expect(svg).toContain('data-backend="sim-b"');
    expect(svg).toMatch(/aria-label="sim-b over the last 60 min: no data 30 min, up 15 min, down 15 min; now down"/);
    expect(svg).toMatch(/<title>down \d\d:\d\d:\d\d UTC–now \(15 min\): health check failed: ECONNREFUSED<\/title>/);
  });

  it('keeps a two-second down visible, on top of the up around it', () => {
    const svg = healthStrip('a', [
      { at: T0 - 5_000, state: 'up', why: 'start' },
      { at: T0 + 1_000_000, state: 'down', why: 'x' },
      { at: T0 + 1_002_000, state: 'up', why: 'y' },
    ], T0, T0 + HOUR);
    const drawn = rects(svg);
    expect(drawn.map((r) => r[0])).toEqual(['up', 'up', 'down']);
    expect(drawn[2]![2]).toBeGreaterThanOrEqual(3);
  });

  it('gives a change recorded this very moment a mark at the right edge', () => {
    const segs = segments([{ at: T0, state: 'up', why: '' }, { at: T0 + HOUR, state: 'down', why: '' }], T0, T0 + HOUR);
    expect(segs.map((s) => s.state)).toEqual(['up', 'down']);
    const drawn = rects(healthStrip('a', [{ at: T0, state: 'up', why: '' }, { at: T0 + HOUR, state: 'down', why: '' }], T0, T0 + HOUR));
    expect(drawn.at(-1)).toEqual(['down', 597, 3]);
  });

  it('escapes what it quotes', () => {
    expect(healthStrip('<b>', [{ at: T0, state: 'down', why: '"<script>' }], T0, T0 + 1000)).not.toMatch(/<b>|<script>/);
  });

  it('breaks a sparkline where a value is missing and says what it shows', () => {
    const svg = sparkline([
      { at: T0 + 10, value: 1 },
      { at: T0 + 20, value: 4 },
      { at: T0 + 30, value: null },
      { at: T0 + 40, value: 2 },
    ], T0, T0 + 40, 'tftp answers', 'requests');
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('aria-label="tftp answers: last 2, highest 4, lowest 1 over 4 sample(s)"');
    expect(sparkline([], T0, T0 + 1, 'x', 'y')).toContain('x: no data yet');
  });

  it('stacks the spool by state in proportion', () => {
    const svg = spoolBar({ waiting: 1, notified: 0, running: 1, finished: 1, failed: 1 });
    expect(rects(svg)).toEqual([
      ['waiting', 0, 150],
      ['running', 150, 150],
      ['finished', 300, 150],
      ['failed', 450, 150],
    ]);
    expect(svg).toContain('failed: 1 (25 %)');
    expect(rects(spoolBar({ waiting: 0, notified: 0, running: 0, finished: 0, failed: 0 }))).toEqual([['empty', 0, 600]]);
  });

  it('renders local features as local, a strip per backend and the spool', () => {
    const view: StatusView = {
      config: null,
      backends: [{ name: 'sim-a', state: 'up', ejectedUntil: null, ejections: 0, consecutiveFailures: 0, lastCheck: null, features: ['tftp'] }],
      features: [
        { name: 'tftp', policy: 'replicate', backends: ['sim-a'], on_backend_down: 'catch_up', catching_up: [] },
        { name: 'logs', policy: 'local', backends: [], catching_up: [] },
      ],
      convergence: { openSagas: 0, pendingCompensations: [], catchUpBacklog: { tftp: { 'sim-a': 3 } } },
      traffic: {},
      rex: { jobs: { ready_for_pickup: 2, finished: 3 }, mqtt: 'connected', failed: 1, finishedLastMinute: 3 },
    };
    const history: HistoryView = {
      from: T0,
      to: T0 + HOUR,
      intervalMs: 10_000,
      samples: [{ at: T0 + HOUR, features: { tftp: { requests: 5, errors: 1, p50ms: 2.5 } }, backlog: { 'sim-a': 3 }, spool: { waiting: 2, notified: 0, running: 0, finished: 2, failed: 1, perMinute: 3 } }],
      transitions: { 'sim-a': [{ at: T0 + 100, state: 'up', why: 'start' }] },
    };
    const html = renderMain(view, history);
    expect(html).toMatch(/<td>logs<\/td><td>local<\/td>/);
    expect(html).toContain('<svg class="strip" data-backend="sim-a"');
    expect(html).toContain('aria-label="tftp answers per 10 s: last 5');
    expect(html).toContain('aria-label="sim-a catch-up backlog: last 3');
    expect(rects(html.slice(html.indexOf('<svg class="spool"')))).toEqual([
      ['waiting', 0, 240],
      ['finished', 240, 240],
      ['failed', 480, 120],
    ]);
    expect(html).toMatch(/id="jobs-per-minute">3</);
  });
});
