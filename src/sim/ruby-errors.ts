// File-system failures worded like Ruby's Errno exceptions, because SP puts the exception text
// into its answers (e.g. "Is a directory @ rb_sysopen - /var/lib/tftpboot/ztp.cfg").
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** An error whose message is exactly what the Ruby proxy would have said. */
export class RubyError extends Error {}

const STRERROR: Record<string, string> = {
  EISDIR: 'Is a directory',
  EEXIST: 'File exists',
  ENOTDIR: 'Not a directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
};

export function rubyErrno(err: unknown, where: string, path: string): RubyError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const text = STRERROR[code] ?? (err as Error).message;
  return new RubyError(`${text} @ ${where} - ${path}`);
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** FileUtils.mkdir_p: creates the missing ancestors in order; the first one that fails is named. */
export function mkdirP(dir: string): void {
  const missing: string[] = [];
  let p = dir;
  while (!isDirectory(p)) {
    missing.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (err) {
      if (!isDirectory(m)) throw rubyErrno(err, 'dir_s_mkdir', m);
    }
  }
}

/** File.open(path, 'w') { write } after mkdir_p of its directory. */
export function writeFileRuby(path: string, contents: string | Buffer): void {
  mkdirP(dirname(path));
  try {
    writeFileSync(path, contents);
  } catch (err) {
    throw rubyErrno(err, 'rb_sysopen', path);
  }
}
