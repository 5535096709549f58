// Test helper: a describe() for tests that need something outside the repository (a Kafka broker, Chromium).

import { describe, it } from 'vitest';

const isCI = (): boolean => !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/**
 * describe(name, fn) when `missing` is undefined. Otherwise describe.skip with a loud reason, except under
 * CI=true, where it never skips: the suite fails with the reason (`missing`) instead.
 */
export function describeNeeding(what: string, missing: string | undefined, name: string, fn: () => void): void {
  if (missing === undefined) {
    describe(name, fn);
    return;
  }
  if (isCI()) {
    describe(name, () => {
      it(`needs ${what}`, () => {
        throw new Error(`CI=true: ${missing}`);
      });
    });
    return;
  }
  process.stderr.write(`\n!!! SKIPPING ${what} tests "${name}": ${missing}\n\n`);
  describe.skip(`${name} [SKIPPED: ${missing}]`, fn);
}
