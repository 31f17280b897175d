/**
 * Authenticode: the MSI and the Windows programs in it, signed by scripts/package.mjs with a
 * code-signing certificate in a PKCS#12 file, and install.ps1 beside it (as a municipality's own certificate comes), its
 * password read from a file. A certificate and CA made here with openssl; the signatures
 * checked with `osslsigncode verify` against that CA, the programs after extracting them from
 * the MSI with msiextract; one changed byte breaks the MSI's signature. Windows' own check
 * (WinVerifyTrust) is not run here.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools, skipReal } from '../helpers/linux-real.js';
import { REPO, run } from './helpers.js';

const TOOLS = ['/usr/bin/osslsigncode', '/usr/bin/openssl', '/usr/bin/wixl', '/usr/bin/msiextract', '/usr/bin/x86_64-w64-mingw32-gcc'];
const PACKAGES = 'osslsigncode openssl wixl msitools gcc-mingw-w64-x86-64-win32';
const skip = skipReal(TOOLS, PACKAGES);
const VERSION = '9.2.0';
let work: string;
let msi: string;

async function openssl(args: string[]) {
  const r = await run('openssl', args, { cwd: work });
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

beforeAll(async () => {
  if (skip) return;
  requireTools(TOOLS, PACKAGES);
  work = mkdtempSync(join(tmpdir(), 'mamori-authenticode-'));
  // A CA and a code-signing certificate it issued (extendedKeyUsage codeSigning), bundled as a .pfx.
  await openssl(['req', '-x509', '-newkey', 'rsa:3072', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=Test City CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  await openssl(['req', '-newkey', 'rsa:3072', '-nodes', '-keyout', 'sign.key', '-out', 'sign.csr', '-subj', '/CN=Test City Information Policy Division/O=Test City']);
  writeFileSync(join(work, 'ext.cnf'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n');
  await openssl(['x509', '-req', '-in', 'sign.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'sign.pem', '-days', '30', '-extfile', 'ext.cnf']);
  writeFileSync(join(work, 'password.txt'), 'pfx-pass-1234\n', { mode: 0o600 });
  await openssl(['pkcs12', '-export', '-in', 'sign.pem', '-inkey', 'sign.key', '-certfile', 'ca.pem', '-out', 'sign.pfx', '-passout', 'file:password.txt']);
  const r = await run(process.execPath, [join(REPO, 'scripts/package.mjs'), 'msi', '--version', VERSION, '--out', join(work, 'build')], {
    cwd: REPO,
    timeoutMs: 900_000,
    env: { ...process.env, MAMORI_CODESIGN_PKCS12: join(work, 'sign.pfx'), MAMORI_CODESIGN_PASSWORD_FILE: join(work, 'password.txt') },
  });
  if (r.code !== 0) throw new Error(`package.mjs msi: ${r.stderr}${r.stdout}`);
  msi = join(work, 'build', `mamori-agent-${VERSION}-x64.msi`);
}, 1_000_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const verify = (file: string) => run('osslsigncode', ['verify', '-CAfile', join(work, 'ca.pem'), '-in', file]);

describe.skipIf(skip)('Authenticode signatures', { timeout: 300_000 }, () => {
  it('sign the MSI and mamori-service.exe / mamori-notice.exe inside it with the site certificate', async () => {
    const signedMsi = await verify(msi);
    expect(signedMsi.code, signedMsi.stdout + signedMsi.stderr).toBe(0);
    expect(signedMsi.stdout).toMatch(/Test City Information Policy Division/);
    expect(signedMsi.stdout).toMatch(/Signature verification: ok/);

    const files = join(work, 'extracted');
    mkdirSync(files);
    expect((await run('msiextract', ['-C', files, msi])).code).toBe(0);
    const find = (name: string): string => {
      const hit = readdirSync(files, { recursive: true, withFileTypes: true }).find((e) => e.isFile() && e.name === name);
      if (!hit) throw new Error(`${name} not in the MSI`);
      return join(hit.parentPath, hit.name);
    };
    for (const exe of ['mamori-service.exe', 'mamori-notice.exe']) {
      const r = await verify(find(exe));
      expect(r.code, `${exe}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/Signature verification: ok/);
    }

    // install.ps1 beside the MSI: signed (AllSigned), with a UTF-8 byte order mark for Windows PowerShell 5.1.
    const script = join(work, 'build', 'install.ps1');
    expect([...readFileSync(script).subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(readFileSync(script, 'utf8')).toMatch(/# SIG # Begin signature block\r?\n[\s\S]*# SIG # End signature block\s*$/);
    const signedScript = await verify(script);
    expect(signedScript.code, signedScript.stdout + signedScript.stderr).toBe(0);

    // One byte of the package changed after signing: the signature no longer verifies.
    const bytes = readFileSync(msi);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    const tampered = join(work, 'tampered.msi');
    writeFileSync(tampered, bytes);
    expect((await verify(tampered)).code).not.toBe(0);
  });
});
