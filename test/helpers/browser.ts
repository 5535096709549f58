// Test helper: the headless Chromium the dashboard tests drive (Debian's package, through playwright-core).

import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { describeNeeding } from './needs.js';

/** The Chromium binary: $CHROMIUM_PATH, else Debian's /usr/bin/chromium (`npm run browser:install`). */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** A headless Chromium; --no-sandbox because CI runs as root, where Chromium's sandbox refuses to start. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath()!, headless: true, args: ['--no-sandbox'] });
}

/**
 * describe() for tests that need Chromium. Without it: describe.skip with a loud reason, except under
 * CI=true, where the suite fails with the reason instead.
 */
export function describeBrowser(name: string, fn: () => void): void {
  const missing = chromiumPath() ? undefined : 'no Chromium: set CHROMIUM_PATH or run `npm run browser:install` (Debian package chromium)';
  describeNeeding('Chromium', missing, name, fn);
}
