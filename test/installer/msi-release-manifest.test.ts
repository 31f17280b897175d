/**
 * An MSI upgrade is no tamper alarm: two MSIs built by scripts/package.mjs (9.3.0, 9.3.1) carry
 * the signed release manifest; their files, extracted with msiextract in turn into the same
 * "C:\Program Files\mamori" (a directory here), are what the agent's integrity check sees before
 * and after an upgrade: agent.upgraded, no binary.changed / catalogue.changed. A file changed
 * by hand after that is still binary.changed. Windows itself is not run (msiexec under wine is
 * wine.test.ts); the integrity check is the same code on both systems.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrityNotices } from '../../agent/integrity.js';
import { checkRelease } from '../../agent/release-manifest.js';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { REPO, run } from './helpers.js';

const TOOLS = ['/usr/bin/wixl', '/usr/bin/msiextract', '/usr/bin/msiinfo', '/usr/bin/x86_64-w64-mingw32-gcc'];
const PACKAGES = 'wixl msitools gcc-mingw-w64-x86-64-win32';
const skip = skipReal(TOOLS, PACKAGES);
const OLD = '9.3.0';
const NEW = '9.3.1';
let work: string;
const msis: Record<string, string> = {};

beforeAll(async () => {
  if (skip) return;
  requireTools(TOOLS, PACKAGES);
  work = mkdtempSync(join(tmpdir(), 'mamori-msi-manifest-'));
  for (const v of [OLD, NEW]) {
    const r = await run(process.execPath, [join(REPO, 'scripts/package.mjs'), 'msi', '--version', v, '--out', join(work, v)], { cwd: REPO, timeoutMs: 900_000 });
    if (r.code !== 0) throw new Error(`package.mjs msi --version ${v}: ${r.stderr}${r.stdout}`);
    msis[v] = join(work, v, `mamori-agent-${v}-x64.msi`);
  }
}, 1_800_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The install directory of an MSI (the folder holding mamori-agent.mjs), extracted. */
async function extract(msi: string, to: string): Promise<string> {
  mkdirSync(to, { recursive: true });
  const r = await run('msiextract', ['-C', to, msi]);
  if (r.code !== 0) throw new Error(`msiextract: ${r.stderr}`);
  const hit = readdirSync(to, { recursive: true, withFileTypes: true }).find((e) => e.isFile() && e.name === 'mamori-agent.mjs');
  if (!hit) throw new Error('no mamori-agent.mjs in the MSI');
  return hit.parentPath;
}

describe.skipIf(skip)('the MSI release manifest', { timeout: 300_000 }, () => {
  it('lists every installed file, signed; an upgrade to the next MSI is agent.upgraded and a later hand edit is binary.changed', async () => {
    const table = await run('msiinfo', ['export', msis[OLD]!, 'File']);
    for (const name of ['release-manifest.json', 'release-manifest.sig', 'release-key.pem']) expect(table.stdout).toContain(name);

    const extracted = await extract(msis[OLD]!, join(work, 'x-old'));
    const release = checkRelease(extracted);
    expect(release.ok).toBe(true);
    if (!release.ok) return;
    expect(release.release.version).toBe(OLD);
    const listed = Object.keys(release.release.files).map((p) => p.slice(extracted.length + 1).replace(/\\/g, '/')).sort();
    expect(listed).toEqual(expect.arrayContaining(['mamori-agent.mjs', 'mamori-notice.exe', 'mamori-service.exe', 'node.exe', 'config/sources.yml']));
    expect(listed.some((p) => p.endsWith('.wxs'))).toBe(false);

    // "C:\Program Files\mamori": the old MSI's files, the agent's first start, then the new MSI's files.
    const installDir = join(work, 'Program Files', 'mamori');
    const state = join(work, 'ProgramData-mamori');
    mkdirSync(state, { recursive: true });
    const files = { programPath: join(installDir, 'mamori-agent.mjs'), runtimePath: join(installDir, 'node.exe'), catalogueDir: join(installDir, 'config') };
    cpSync(extracted, installDir, { recursive: true });
    expect(await integrityNotices(state, files)).toEqual([]);
    rmSync(installDir, { recursive: true });
    cpSync(await extract(msis[NEW]!, join(work, 'x-new')), installDir, { recursive: true });
    const notices = await integrityNotices(state, files);
    expect(notices.map((n) => (n.kind === 'agent.notice' ? n.notice : n.kind))).toEqual(['agent.upgraded']);
    expect(notices[0]).toMatchObject({ detail: { fromVersion: OLD, toVersion: NEW } });

    appendFileSync(join(installDir, 'mamori-agent.mjs'), '\n// changed by hand\n');
    writeFileSync(join(installDir, 'config', 'sources.yml'), 'changed: true\n');
    const after = (await integrityNotices(state, files)).map((n) => (n.kind === 'agent.notice' ? n.notice : n.kind)).sort();
    expect(after).toEqual(['binary.changed', 'catalogue.changed']);
  });
});
