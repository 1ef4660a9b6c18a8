// Replays all 150 exchanges recorded from a real smart proxy against one simulator process, in
// file order (state carries over), and compares status, Content-Type, headers, body and the
// recorded side effects. Only what the recording's README calls variable is compared loosely:
// unused_ip values, lease times and log contents/timestamps.
import { describeReplay } from '../support/replay/replay-suite.js';
import { startSimTarget } from '../support/replay/sim-target.js';

describeReplay('simulator replays the recorded smart-proxy exchanges', startSimTarget, { logMessages: 'recorded', exceptions: {} });
