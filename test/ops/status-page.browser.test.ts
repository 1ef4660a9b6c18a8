// The status page in a real headless Chromium: it loads, and shows a backend going down within
// a few seconds, without a reload, in its table and as a drawn red stretch of the backend's
// health strip. A screenshot is written for whoever looks at the run.
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
    // Sampled twice a second, so that the trend lines have points within the test.
    h = await startHarness({ backends: 2, features: '\n  tftp: { policy: replicate }\n  dns: {}\n', historyIntervalMs: 500 });
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
    for (let i = 0; i < 3; i++) expect((await h.http.post(`/tftp/PXELinux/00:11:22:33:44:0${i}`, { pxeconfig: 'm\n' })).status).toBe(200);
    // The writes show in tftp's trend line of answers (a sample later, by the page's own refresh).
    await page.waitForFunction(
      `[...document.querySelectorAll('svg.spark.requests')].some((e) => /^tftp answers .*highest [1-9]/.test(e.getAttribute('aria-label')) && e.querySelector('polyline'))`,
      undefined,
      { timeout: 8000 },
    );
    await h.sims[1]!.faults({ refuse: true });
    // The page polls by itself; no reload.
    await page.locator('span.state[data-backend="sim-b"]', { hasText: /^down$/ }).waitFor({ timeout: 8000 });
    expect(await badge('sim-a').textContent()).toBe('up');

    // The picture: sim-b's strip has a down stretch that is drawn (laid out wider than nothing,
    // painted in the down color); sim-a's has none.
    const strip = (name: string) => page.locator(`svg.strip[data-backend="${name}"]`);
    const down = strip('sim-b').locator('rect[data-state="down"]');
    await down.first().waitFor({ state: 'visible', timeout: 8000 });
    const box = await down.first().boundingBox();
    expect(box).not.toBeNull();
    expect(box!.width).toBeGreaterThan(0);
    expect(box!.height).toBeGreaterThan(0);
    // (Runs in the page; the tests compile without the DOM's types.)
    const fill = await down.first().evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { fill: string } }).getComputedStyle(el).fill);
    expect(fill).toBe('rgb(198, 40, 40)');
    expect(await strip('sim-b').locator('rect[data-state="up"]').count()).toBeGreaterThan(0);
    expect(await strip('sim-a').locator('rect[data-state="down"]').count()).toBe(0);
    expect(await strip('sim-a').locator('rect[data-state="up"]').count()).toBeGreaterThan(0);
    // Its text alternative says so too.
    await expect(strip('sim-b').getAttribute('aria-label')).resolves.toMatch(/; now down$/);
    const shot = join(mkdtempSync(join(tmpdir(), 'pp-status-page-')), 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(1000);
    process.stdout.write(`status page screenshot: ${shot}\n`);
  });
});
