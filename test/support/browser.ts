import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, headless, driven by playwright-core (never a downloaded browser). Installed by
 * scripts/install-debian-packages.sh; CI sets WARREN_REQUIRE_BROWSER=1 so a missing browser fails
 * the run instead of skipping the browser tests.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const browserAvailable = fs.existsSync(CHROMIUM);
if (!browserAvailable && process.env.WARREN_REQUIRE_BROWSER === '1') {
  throw new Error(`${CHROMIUM} is missing: run scripts/install-debian-packages.sh`);
}

/** `extraArgs`: more Chromium switches, e.g. `--host-resolver-rules=MAP gateway.test 127.0.0.1`. */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<{ browser: Browser; close: () => Promise<void> }> {
  // playwright gives each launch a fresh temporary profile of its own.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', ...extraArgs],
  });
  return { browser, close: () => browser.close() };
}
