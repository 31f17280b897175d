#!/usr/bin/env node
// A signed yum/dnf repository of mamori-agent .rpm packages, for `dnf install mamori-agent` and
// `dnf upgrade` on RHEL-family PCs (docs/install.md, "署名付き yum/dnf リポジトリ"):
//
//   node scripts/yum-repository.mjs --key KEYID --out DIR mamori-agent-*.rpm
//
// Layout (createrepo_c):
//   Packages/<package>.rpm          each package signed with rpmsign (scripts/package.mjs, MAMORI_RPM_GPG_KEY)
//   repodata/repomd.xml             index of the metadata files, with their SHA-256
//   repodata/repomd.xml.asc         repomd.xml signed (detached, armored) with the GPG key KEYID
//   RPM-GPG-KEY-mamori              the public key (what `gpgkey=` of the PC's .repo file names)
// dnf checks both: gpgcheck=1 the package's own signature, repo_gpgcheck=1 the metadata's. A
// package without a signature is refused here: a PC with gpgcheck=1 would refuse it anyway.
// GNUPGHOME chooses the keyring holding the key.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export class YumRepositoryError extends Error {}

/** The OpenPGP signature rpm reads from a package's header, or null when it has none. */
export function rpmSignature(rpm) {
  const sig = execFileSync('rpm', ['-qp', '--qf', '%{RSAHEADER:pgpsig}', rpm], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  return sig && sig !== '(none)' ? sig : null;
}

/** Build (or rebuild) the repository in `out` from the given signed .rpm files; repomd.xml signed with the GPG key `key`. */
export function buildYumRepository(out, rpms, key) {
  if (rpms.length === 0) throw new YumRepositoryError('no .rpm given');
  for (const rpm of rpms) {
    if (!rpmSignature(rpm)) throw new YumRepositoryError(`${basename(rpm)} に署名がありません (MAMORI_RPM_GPG_KEY を指定して npm run package で作り直してください) / the package is not signed`);
  }
  const packages = join(out, 'Packages');
  mkdirSync(packages, { recursive: true });
  for (const rpm of rpms) copyFileSync(rpm, join(packages, basename(rpm)));
  // --update keeps the entries of packages added earlier; sha256 checksums only.
  execFileSync('createrepo_c', ['--quiet', '--update', '--checksum', 'sha256', '--general-compress-type', 'gz', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  const gpg = (args) => execFileSync('gpg', ['--batch', '--yes', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  gpg(['--local-user', key, '--detach-sign', '--armor', '--digest-algo', 'SHA256', '--output', join(out, 'repodata/repomd.xml.asc'), join(out, 'repodata/repomd.xml')]);
  writeFileSync(join(out, 'RPM-GPG-KEY-mamori'), gpg(['--export', '--armor', key]));
  return out;
}

function main(argv) {
  let out;
  let key;
  const rpms = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = resolve(argv[++i] ?? '');
    else if (argv[i] === '--key') key = argv[++i];
    else if (argv[i].endsWith('.rpm')) rpms.push(resolve(argv[i]));
    else throw new YumRepositoryError(`unknown argument ${argv[i]} (--key KEYID --out DIR package.rpm …)`);
  }
  if (!out || !key) throw new YumRepositoryError('--out DIR and --key KEYID (a GPG key of GNUPGHOME) are required');
  console.log(`yum repository ${buildYumRepository(out, rpms, key)} signed by ${key}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`yum-repository: ${err.message}`);
    process.exit(1);
  }
}
