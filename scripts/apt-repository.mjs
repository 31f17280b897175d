#!/usr/bin/env node
// A signed apt repository of mamori-agent .deb packages, for `apt-get install mamori-agent`
// and `apt-get upgrade` on Debian / Ubuntu PCs (docs/install.md, "Signed apt repository"):
//
//   node scripts/apt-repository.mjs --key KEYID --out DIR mamori-agent_*.deb
//
// Layout (Debian repository format, wiki.debian.org/DebianRepository/Format):
//   pool/main/m/mamori-agent/<package>.deb
//   dists/stable/main/binary-amd64/Packages, Packages.gz   (dpkg-scanpackages)
//   dists/stable/Release    SHA256 of the index files
//   dists/stable/InRelease  Release clear-signed with the GPG key KEYID
//   dists/stable/Release.gpg  detached signature (older apt)
// GNUPGHOME chooses the keyring holding the key; the PCs trust the exported public key only
// for this repository (signed-by=).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export class AptRepositoryError extends Error {}

const SUITE = 'stable';
const INDEXES = ['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz'];

/** Build (or rebuild) the repository in `out` from the given .deb files, signed with the GPG key `key`. */
export function buildAptRepository(out, debs, key, now = new Date()) {
  if (debs.length === 0) throw new AptRepositoryError('no .deb given');
  const pool = join(out, 'pool/main/m/mamori-agent');
  mkdirSync(pool, { recursive: true });
  for (const deb of debs) copyFileSync(deb, join(pool, basename(deb)));
  const dist = join(out, 'dists', SUITE);
  mkdirSync(join(dist, 'main/binary-amd64'), { recursive: true });
  // Paths in Packages are relative to the repository root (Filename: pool/…).
  const packages = execFileSync('dpkg-scanpackages', ['--multiversion', 'pool', '/dev/null'], { cwd: out, stdio: ['ignore', 'pipe', 'ignore'] });
  writeFileSync(join(dist, INDEXES[0]), packages);
  writeFileSync(join(dist, INDEXES[1]), gzipSync(packages, { level: 9 }));
  const lines = INDEXES.map((f) => {
    const bytes = readFileSync(join(dist, f));
    return ` ${createHash('sha256').update(bytes).digest('hex')} ${bytes.length} ${f}`;
  });
  const release = [
    'Origin: mamori',
    'Label: mamori',
    `Suite: ${SUITE}`,
    `Codename: ${SUITE}`,
    `Date: ${now.toUTCString().replace('GMT', 'UTC')}`,
    'Architectures: amd64',
    'Components: main',
    'Description: mamori agent (守り) packages',
    'SHA256:',
    ...lines,
    '',
  ].join('\n');
  writeFileSync(join(dist, 'Release'), release);
  const gpg = (args) => execFileSync('gpg', ['--batch', '--yes', '--local-user', key, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  gpg(['--clearsign', '--digest-algo', 'SHA256', '--output', join(dist, 'InRelease'), join(dist, 'Release')]);
  gpg(['--detach-sign', '--armor', '--digest-algo', 'SHA256', '--output', join(dist, 'Release.gpg'), join(dist, 'Release')]);
  return dist;
}

function main(argv) {
  let out;
  let key;
  const debs = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = resolve(argv[++i] ?? '');
    else if (argv[i] === '--key') key = argv[++i];
    else if (argv[i].endsWith('.deb')) debs.push(resolve(argv[i]));
    else throw new AptRepositoryError(`unknown argument ${argv[i]} (--key KEYID --out DIR package.deb …)`);
  }
  if (!out || !key) throw new AptRepositoryError('--out DIR and --key KEYID (a GPG key of GNUPGHOME) are required');
  console.log(`apt repository ${buildAptRepository(out, debs, key)} signed by ${key}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`apt-repository: ${err.message}`);
    process.exit(1);
  }
}
