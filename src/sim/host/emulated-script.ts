// Scripts the simulated host can run without a shell: only `echo` lines and a final `exit N`.
// A fork per job costs the simulator far more CPU than the daemon spends on the job, so a bench
// that measures the daemon's capacity runs such scripts in process (--emulate-scripts).

export interface EmulatedRun {
  stdout: string;
  exitCode: number;
}

/** What /bin/sh would print and exit with, or undefined when the script needs a real shell. */
export function emulateScript(script: string): EmulatedRun | undefined {
  let stdout = '';
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const echo = /^echo(?: (.*))?$/.exec(line);
    if (echo) {
      const text = echo[1] ?? '';
      // Quotes, variables and escapes need the shell's rules.
      if (/["'`$\\;&|<>(){}*?[\]~]/.test(text)) return undefined;
      stdout += `${text.replace(/\s+/g, ' ')}\n`;
      continue;
    }
    const exit = /^exit (\d{1,3})$/.exec(line);
    if (exit && Number(exit[1]) <= 255) return { stdout, exitCode: Number(exit[1]) };
    return undefined;
  }
  return { stdout, exitCode: 0 };
}
