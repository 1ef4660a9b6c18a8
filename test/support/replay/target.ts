// What the replay is sent to: one simulator directly, or proxy-proxy in front of simulators.
// A target says where requests go and which simulators must show the recorded side effects; its
// tolerance says how answers are judged where it knowingly differs from the recorded proxy.
import type { Pki } from '../pki.js';
import type { SimProcess } from '../sim-process.js';

/** What every target is built from: the test PKI and the stand-in Foreman. */
export interface ReplayEnv {
  pki: Pki;
  /** Where the simulators relay templates to. */
  foremanUrl: string;
}

/** Differences from the recorded proxy that a target has on purpose, by exchange id. */
export interface Exception {
  /** One line: why this target cannot match the recording here. */
  reason: string;
  /** How often the stand-in Foreman sees each recorded upstream request, instead of once. */
  upstreamCopies?: number;
}

export interface Tolerance {
  /**
   * `recorded`: /logs is the simulator's own buffer and follows the recorded message sequence.
   * `own`: /logs is proxy-proxy's buffer; only its info block and the record shape compare.
   */
  logMessages: 'recorded' | 'own';
  exceptions: Record<string, Exception>;
}

export interface ReplayTarget {
  httpPort: number;
  httpsPort: number;
  /** The tftproot the recorded `<tftproot>` stands for: that of the simulator answering TFTP. */
  tftproot: string;
  /** Every simulator behind the target. */
  sims: SimProcess[];
  /** Simulators on which each recorded TFTP effect must hold. */
  tftpSims: SimProcess[];
  /** The simulator that must hold the recorded DNS and DHCP effects. */
  stateSim: SimProcess;
  stop(): Promise<void>;
}

export const TEMPLATE_URL = 'http://127.0.0.1:18000';
export const TRUSTED_HOSTS = ['proxy-proxy.example.test', 'localhost'];

/** The recorded proxy's modules and settings, as simulator arguments. */
export function recordedSimArgs(env: ReplayEnv): string[] {
  return [
    '--template-url', TEMPLATE_URL,
    '--foreman-url', env.foremanUrl,
    '--tftp-servername', '192.0.2.1',
    '--features', 'dhcp,dns,logs,templates,tftp',
  ];
}
