// A backend's health as HAProxy and Envoy model it: active checks move it between up and down
// after `rise`/`fall` consecutive results; live traffic ejects it after N consecutive failures
// for a back-off that doubles on each repeat and decays again, one step per `decay_after_ms` spent
// healthy (Envoy's outlier detection does the same), so a backend that flapped for a while is not
// kept out for the longest back-off once it has settled. Operational state (drained, maintenance) is set at
// run time only and is never persisted: the config file stays the administrative truth.
import type { HealthCheckConfig, PassiveEjectionConfig } from '../config/types.js';

export type OperationalState = 'active' | 'drained' | 'maintenance';
export type BackendState = 'up' | 'down' | 'drained' | 'maintenance';

export interface HealthSnapshot {
  state: BackendState;
  checkedUp: boolean;
  ejectedUntil: number | null;
  ejections: number;
  consecutiveFailures: number;
  lastCheck: { at: number; ok: boolean; detail: string } | null;
}

export class HealthState {
  private operational: OperationalState = 'active';
  /** Optimistic start, as HAProxy: a backend is used until checks say otherwise. */
  private checkedUp = true;
  private good = 0;
  private bad = 0;
  private liveFailures = 0;
  private ejections = 0;
  private ejectedUntil = 0;
  /** Since when the backend has been healthy, for the back-off's decay. */
  private calmSince = 0;
  private lastCheck: HealthSnapshot['lastCheck'] = null;

  constructor(
    private readonly checks: HealthCheckConfig,
    private readonly ejection: PassiveEjectionConfig,
    private readonly now: () => number = Date.now,
    private readonly onChange: (from: BackendState, to: BackendState, why: string) => void = () => {},
  ) {}

  get state(): BackendState {
    if (this.operational !== 'active') return this.operational;
    return this.checkedUp ? 'up' : 'down';
  }

  /** May new requests be sent here? Down, ejected, drained and maintenance backends take none. */
  get available(): boolean {
    return this.state === 'up' && !this.ejected;
  }

  /** Checks pass and no passive ejection: whatever the operator set (drained keeps its in-flight calls). */
  get healthy(): boolean {
    return this.checkedUp && !this.ejected;
  }

  get ejected(): boolean {
    return this.ejectedUntil > this.now();
  }

  /** Replicated writes target every backend that is neither drained nor in maintenance. */
  get inService(): boolean {
    return this.operational === 'active';
  }

  /** Health checks are skipped in maintenance, as HAProxy's `maint`. */
  get checksEnabled(): boolean {
    return this.operational !== 'maintenance';
  }

  setOperational(next: OperationalState, why: string): void {
    const before = this.state;
    this.operational = next;
    this.emit(before, why);
  }

  recordCheck(ok: boolean, detail: string): void {
    const before = this.state;
    this.lastCheck = { at: this.now(), ok, detail };
    if (ok) {
      this.bad = 0;
      this.good += 1;
      if (!this.checkedUp && this.good >= this.checks.rise) {
        this.checkedUp = true;
        this.calmSince = this.now();
      }
    } else {
      this.good = 0;
      this.bad += 1;
      if (this.checkedUp && this.bad >= this.checks.fall) {
        // Healthy time up to now still counts; time spent down does not.
        this.decay();
        this.checkedUp = false;
      }
    }
    this.emit(before, `health check ${ok ? 'passed' : 'failed'}: ${detail}`);
  }

  /** Lift a passive ejection now (an operator's "enable"). */
  clearEjection(): void {
    this.ejectedUntil = 0;
    this.liveFailures = 0;
  }

  recordLiveSuccess(): void {
    this.liveFailures = 0;
  }

  /** Returns true when this failure ejected the backend. */
  recordLiveFailure(detail: string): boolean {
    this.liveFailures += 1;
    if (this.liveFailures < this.ejection.consecutive_failures || this.ejected) return false;
    this.decay();
    const span = Math.min(this.ejection.base_ejection_ms * 2 ** this.ejections, this.ejection.max_ejection_ms);
    this.ejections += 1;
    this.liveFailures = 0;
    this.ejectedUntil = this.now() + span;
    this.calmSince = this.ejectedUntil;
    this.onChange(this.state, this.state, `ejected for ${span} ms after ${this.ejection.consecutive_failures} consecutive failures (${detail})`);
    return true;
  }

  /** The back-off multiplier steps down once per decay_after_ms the backend has been healthy. */
  private decay(): void {
    if (this.ejections === 0 || !this.checkedUp) return;
    const now = this.now();
    if (now < this.calmSince) return;
    const steps = Math.floor((now - this.calmSince) / this.ejection.decay_after_ms);
    if (steps === 0) return;
    this.ejections = Math.max(0, this.ejections - steps);
    this.calmSince += steps * this.ejection.decay_after_ms;
  }

  snapshot(): HealthSnapshot {
    this.decay();
    return {
      state: this.state,
      checkedUp: this.checkedUp,
      ejectedUntil: this.ejected ? this.ejectedUntil : null,
      ejections: this.ejections,
      consecutiveFailures: this.liveFailures,
      lastCheck: this.lastCheck,
    };
  }

  private emit(before: BackendState, why: string): void {
    const after = this.state;
    if (after !== before) this.onChange(before, after, why);
  }
}
