// What a policy hands back: one answer for Foreman, plus every backend call it made so the
// request's log line can show each backend tried, with outcome and milliseconds.
import type { BackendAnswer } from '../features/route.js';

export type Phase = 'send' | 'snapshot' | 'restore' | 'confirm';

export interface Attempt {
  backend: string;
  phase: Phase;
  /** HTTP status, or the transport failure code (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, …). */
  outcome: string;
  ms: number;
}

export type PolicyAnswer =
  | { kind: 'backend'; answer: BackendAnswer }
  /** Composed by proxy-proxy: plain-text smart-proxy-style error. */
  | { kind: 'error'; status: number; message: string };

export interface PolicyOutcome {
  answer: PolicyAnswer;
  attempts: Attempt[];
  /** Something an administrator must act on (e.g. a rollback that failed): logged as an error. */
  warning?: string;
  /** Expected but worth a line (e.g. a backend left to catch-up): logged as a warning. */
  notice?: string;
}

export function errorAnswer(status: number, message: string): PolicyAnswer {
  return { kind: 'error', status, message };
}
