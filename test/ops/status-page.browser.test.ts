// The status page in a real headless Chromium: it loads, and shows a backend going down within
// a few seconds, without a reload. A screenshot is written for whoever looks at the run.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startHarness, type Harness } from '../support/daemon-harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('status page in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (.ci/run does)`);
    h = await startHarness({ backends: 2, features: '\n  tftp: { policy: replicate }\n  dns: {}\n' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await h?.stop();
  });

  it('shows a backend going down within a few seconds', async () => {
    const page = await browser.newPage();
    await page.goto(`${h.daemon.url('http')}/proxy_proxy/`);
    const badge = (name: string) => page.locator(`span.state[data-backend="${name}"]`);
    await expect(badge('sim-b').textContent({ timeout: 5000 })).resolves.toBe('up');
    await h.sims[1]!.faults({ refuse: true });
    // The page polls by itself; no reload.
    await page.locator('span.state[data-backend="sim-b"]', { hasText: /^down$/ }).waitFor({ timeout: 8000 });
    expect(await badge('sim-a').textContent()).toBe('up');
    const shot = join(mkdtempSync(join(tmpdir(), 'pp-status-page-')), 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(1000);
    process.stdout.write(`status page screenshot: ${shot}\n`);
  });
});
