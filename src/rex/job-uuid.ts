// The uuid a host knows its job by (its URLs, its doorbell). Time-ordered (RFC 9562 version 7:
// 48 bits of Unix ms, then 74 random bits), so that the spool's index on it grows at its end
// instead of rewriting a random page per job at every launch. It names the job, it is not a
// secret: a host reaches only its own jobs (its certificate's CN must match).
import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const bytes = Buffer.alloc(16);
/** Within one millisecond the counter in the random bits keeps ids in the order they were made. */
let lastMs = -1;
let counter = 0;

export function jobUuid(now = Date.now()): string {
  randomFillSync(bytes, 6, 10);
  if (now <= lastMs) {
    // Same (or an earlier) millisecond: stay on the last one and count up in rand_a (12 bits).
    now = lastMs;
    counter = (counter + 1) & 0xfff;
    if (counter === 0) now = lastMs = lastMs + 1;
  } else {
    lastMs = now;
    counter = (bytes[6]! & 0x07) << 8 | bytes[7]!;
  }
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[bytes[i]!];
  }
  return s;
}
