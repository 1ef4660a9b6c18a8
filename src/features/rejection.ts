// Rejections in the smart proxy's words. One place builds them so every validator returns the
// same shape.
import type { Rejection } from './route.js';

export function reject(status: number, message: string): Rejection {
  return { status, message };
}
