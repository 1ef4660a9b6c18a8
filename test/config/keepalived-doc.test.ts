// The keepalived.conf of docs/high-availability.md is accepted by a real keepalived (Debian's,
// installed by npm test's prerequisites): `keepalived --config-test` logs every problem it finds.
import { describe, it, expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

function documentedBlock(lang: string): string {
  const doc = readFileSync(resolve('docs/high-availability.md'), 'utf8');
  const block = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(doc);
  if (!block) throw new Error(`docs/high-availability.md has no \`\`\`${lang} block`);
  return block[1]!;
}

/** What `keepalived --config-test` logs about a config ('' when it finds nothing wrong). */
async function configTest(text: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pp-keepalived-'));
  const conf = join(dir, 'keepalived.conf');
  const log = join(dir, 'config-test.log');
  writeFileSync(conf, text);
  writeFileSync(log, '');
  // keepalived signals its whole process group when the test ends: give it a group of its own.
  const binary = existsSync('/usr/sbin/keepalived') ? '/usr/sbin/keepalived' : 'keepalived';
  const child = spawn(binary, [`--config-test=${log}`, '-f', conf], { detached: true, stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await new Promise<void>((r, fail) => {
    child.once('exit', () => r());
    child.once('error', (err) => fail(new Error(`keepalived could not run (apt-get install -y keepalived; npm test does this as root): ${err.message}`)));
  });
  clearTimeout(timer);
  return readFileSync(log, 'utf8').trim();
}

describe('docs/high-availability.md: keepalived.conf', () => {
  it('is accepted by keepalived', async () => {
    expect(await configTest(documentedBlock('keepalived'))).toBe('');
  });

  it('the check finds a mistake (a misspelt keyword)', async () => {
    const bad = documentedBlock('keepalived').replace('virtual_router_id 51', 'virtual_router_idd 51');
    expect(await configTest(bad)).toMatch(/Unknown keyword 'virtual_router_idd'/);
  });
});
