// Paths of the host-facing file servers (httpboot, newer TFTP system images). SP answers 403
// "Invalid or empty path" when the cleaned path is the root itself or resolves outside it;
// such a request is refused here and never reaches a backend.
import { reject } from '../rejection.js';
import type { Rejection } from '../route.js';
import { cleanSegments } from './path-safety.js';

export function servedFileRejection(path: string): Rejection | undefined {
  const segments = cleanSegments(path);
  if (segments.length === 0 || segments[0] === '..') return reject(403, 'Invalid or empty path');
  return undefined;
}
