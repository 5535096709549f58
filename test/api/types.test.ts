// Key and value types flow through the chain in a user's editor: test/types/*.ts must compile against the
// built package (`import ... from 'sluice'`), every @ts-expect-error in them included.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

describe('types through the chain', () => {
  it('test/types compiles with tsc --strict', () => {
    const tsc = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', 'test/types/tsconfig.json'], { cwd: REPO_ROOT, stdio: 'pipe', encoding: 'utf8' });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(output).toBe('');
  }, 120_000);
});
