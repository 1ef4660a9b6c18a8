// Option parsers shared by several commands: they turn a bad value into one clear line.
import { InvalidArgumentError } from 'commander';

export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('Not a port number (0-65535).');
  return n;
}

export function logFormat(value: string): 'json' | 'text' {
  if (value !== 'json' && value !== 'text') throw new InvalidArgumentError('It must be json or text.');
  return value;
}
