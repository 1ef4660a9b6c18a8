// Replays all 150 exchanges recorded from a real smart proxy through proxy-proxy (HTTP and HTTPS
// listeners, trusted_hosts) in front of two simulators, and compares proxy-proxy's answers with
// the recording as strictly as the simulator replay does. TFTP effects must hold on both
// simulators (replicated), DNS and DHCP effects on the first (failover). /logs is proxy-proxy's
// own buffer: its info block and record shape are compared, not its messages.
import { describeReplay } from '../support/replay/replay-suite.js';
import { startDaemonTarget } from '../support/replay/daemon-target.js';

describeReplay('proxy-proxy in front of two simulators replays the recorded smart-proxy exchanges', startDaemonTarget, {
  logMessages: 'own',
  // Where proxy-proxy knowingly differs from the recorded proxy, each with its reason: none.
  exceptions: {},
});
