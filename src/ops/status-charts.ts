// The status page's pictures as inline SVG, drawn on the server (no script library, no external
// asset): a backend's health strip, a sparkline, the REX spool's stacked bar. Each carries its
// own text alternative (role="img", aria-label, <title>) and every part a <title> tooltip.
import { STRIP_STATES, SPOOL_STATES, type StripState, type Transition } from './status-history.js';

export const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STRIP_W = 600;
const STRIP_H = 16;
/** A state other than up never draws narrower than this (of 600): a 2 s down in an hour stays visible. */
const MIN_SEGMENT = 3;

export const STATE_LABEL: Record<StripState | 'unknown', string> = {
  up: 'up',
  down: 'down',
  ejected: 'ejected',
  catching_up: 'catching up',
  drained: 'drained',
  maintenance: 'maintenance',
  unknown: 'no data',
};

/** "14:03:07 UTC": the page is read on other machines, in other time zones. */
export function clock(at: number): string {
  return `${new Date(at).toISOString().slice(11, 19)} UTC`;
}

/** "500 ms", "4 s", "12 min", "1 h 5 min". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

interface Segment {
  state: StripState | 'unknown';
  start: number;
  end: number;
  why: string;
}

/** The step function of a backend's transitions, clipped to [from, to]. */
export function segments(transitions: readonly Transition[], from: number, to: number): Segment[] {
  const out: Segment[] = [];
  const first = transitions[0];
  if (!first || first.at > from) out.push({ state: 'unknown', start: from, end: Math.min(to, first?.at ?? to), why: 'not watched yet' });
  transitions.forEach((t, i) => {
    const start = Math.max(t.at, from);
    const end = Math.min(transitions[i + 1]?.at ?? to, to);
    // A change recorded this very moment still gets its (minimum-width) mark.
    if (end > start || (i === transitions.length - 1 && start === to)) out.push({ state: t.state, start, end, why: t.why });
  });
  return out;
}

/** A backend over the window: one colored <rect data-state> per stretch in one state. */
export function healthStrip(name: string, transitions: readonly Transition[], from: number, to: number): string {
  const span = Math.max(1, to - from);
  const segs = segments(transitions, from, to);
  const total = new Map<string, number>();
  for (const s of segs) total.set(s.state, (total.get(s.state) ?? 0) + (s.end - s.start));
  const now = segs.at(-1)?.state ?? 'unknown';
  const summary = [...total].filter(([, ms]) => ms > 0).map(([s, ms]) => `${STATE_LABEL[s as StripState]} ${duration(ms)}`);
  const label = `${name} over the last ${duration(span)}: ${summary.join(', ') || 'no data'}; now ${STATE_LABEL[now]}`;
  // Up and unknown first, the rest on top: a short down drawn at its minimum width is not hidden.
  const ordered = [...segs.filter((s) => s.state === 'up' || s.state === 'unknown'), ...segs.filter((s) => s.state !== 'up' && s.state !== 'unknown')];
  const rects = ordered.map((s) => {
    let x = ((s.start - from) / span) * STRIP_W;
    let w = ((s.end - s.start) / span) * STRIP_W;
    if (s.state !== 'up' && s.state !== 'unknown' && w < MIN_SEGMENT) {
      w = MIN_SEGMENT;
      x = Math.min(x, STRIP_W - MIN_SEGMENT);
    }
    const tip = `${STATE_LABEL[s.state]} ${clock(s.start)}–${s.end >= to ? 'now' : clock(s.end)} (${duration(s.end - s.start)}): ${s.why}`;
    return `<rect class="st-${s.state}" data-state="${s.state}" x="${r2(x)}" y="0" width="${r2(w)}" height="${STRIP_H}"><title>${esc(tip)}</title></rect>`;
  });
  return (
    `<svg class="strip" data-backend="${esc(name)}" viewBox="0 0 ${STRIP_W} ${STRIP_H}" preserveAspectRatio="none" role="img" aria-label="${esc(label)}">` +
    `<title>${esc(label)}</title>${rects.join('')}</svg>`
  );
}

/** Colored swatches naming each state, for the strips and the spool bar. */
export function legend(states: readonly string[], labels: Record<string, string>, prefix: 'st' | 'sp'): string {
  return `<ul class="legend">${states.map((s) => `<li><span class="swatch ${prefix}-${s}" aria-hidden="true"></span>${esc(labels[s] ?? s)}</li>`).join('')}</ul>`;
}

export const STRIP_LEGEND = (): string => legend([...STRIP_STATES, 'unknown'], STATE_LABEL, 'st');
export const SPOOL_LEGEND = (): string => legend(SPOOL_STATES, SPOOL_LABEL, 'sp');

export interface Point {
  at: number;
  value: number | null;
}

const SPARK_W = 160;
const SPARK_H = 28;

/**
 * A small line over the window, scaled from 0 to its own maximum; a missing value (no answers,
 * an unreadable source) breaks the line. `what` names it for the text alternative.
 */
export function sparkline(points: readonly Point[], from: number, to: number, what: string, cls: string): string {
  const values = points.map((p) => p.value).filter((v): v is number => v !== null);
  const max = values.length ? Math.max(...values) : 0;
  const last = points.at(-1)?.value;
  const label = values.length
    ? `${what}: last ${last ?? 'none'}, highest ${r2(max)}, lowest ${r2(Math.min(...values))} over ${points.length} sample(s)`
    : `${what}: no data yet`;
  const span = Math.max(1, to - from);
  const runs: string[][] = [[]];
  for (const p of points) {
    if (p.value === null) {
      if (runs.at(-1)!.length) runs.push([]);
      continue;
    }
    const x = ((p.at - from) / span) * SPARK_W;
    const y = SPARK_H - 2 - (max > 0 ? (p.value / max) * (SPARK_H - 4) : 0);
    runs.at(-1)!.push(`${r2(x)},${r2(y)}`);
  }
  const lines = runs
    .filter((r) => r.length)
    // A lone point draws as a short dash so that it shows.
    .map((r) => (r.length === 1 ? `${r[0]} ${Number(r[0]!.split(',')[0]) + 2},${r[0]!.split(',')[1]}` : r.join(' ')))
    .map((pts) => `<polyline points="${pts}"/>`);
  return (
    `<svg class="spark ${esc(cls)}" viewBox="0 0 ${SPARK_W} ${SPARK_H}" preserveAspectRatio="none" role="img" aria-label="${esc(label)}">` +
    `<title>${esc(label)}</title><line class="base" x1="0" y1="${SPARK_H - 2}" x2="${SPARK_W}" y2="${SPARK_H - 2}"/>${lines.join('')}</svg>`
  );
}

export const SPOOL_LABEL: Record<string, string> = {
  waiting: 'waiting for pickup',
  notified: 'notified',
  running: 'running',
  finished: 'finished',
  failed: 'failed',
};

/** The spool now as one stacked bar: each state's share of the jobs it holds. */
export function spoolBar(counts: Record<(typeof SPOOL_STATES)[number], number>): string {
  const W = 600;
  const H = 18;
  const total = SPOOL_STATES.reduce((n, s) => n + counts[s], 0);
  const label = `remote-execution jobs: ${SPOOL_STATES.map((s) => `${SPOOL_LABEL[s]} ${counts[s]}`).join(', ')}`;
  let x = 0;
  const rects =
    total === 0
      ? [`<rect class="st-unknown" data-state="empty" x="0" y="0" width="${W}" height="${H}"><title>no jobs in the spool</title></rect>`]
      : SPOOL_STATES.filter((s) => counts[s] > 0).map((s) => {
          const w = (counts[s] / total) * W;
          const pct = Math.round((counts[s] / total) * 1000) / 10;
          const rect = `<rect class="sp-${s}" data-state="${s}" x="${r2(x)}" y="0" width="${r2(w)}" height="${H}"><title>${esc(`${SPOOL_LABEL[s]}: ${counts[s]} (${pct} %)`)}</title></rect>`;
          x += w;
          return rect;
        });
  return `<svg class="spool" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="${esc(label)}"><title>${esc(label)}</title>${rects.join('')}</svg>`;
}

function r2(n: number): number {
  return Math.round(n * 100) / 100;
}
