/**
 * Tests that start the CLI or the test programs as processes load dist/: build it from the
 * current sources before any test runs, so `npx vitest run <file>` after a change never tests
 * an older build (the same build as `npm run build`, about a second).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

export default function buildDist(): void {
  const root = resolve(import.meta.dirname, '..', '..');
  execFileSync(process.execPath, [resolve(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
}
