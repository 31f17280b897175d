/**
 * Has the agent been tampered with? At every start the agent hashes its installed program
 * (every file of its bundle and the Node runtime running it), its rule catalogues (config/:
 * rules/*.yml, sources, end-of-support lists) and its configuration file, and compares them
 * with what it recorded at the previous start (integrity.json in the state directory, 0600).
 * A difference becomes agent.notice 'binary.changed' / 'catalogue.changed' / 'config.changed'
 * naming the files and their old and new hashes; the collector turns it into AGENT-004 (an
 * administrator confirms an authorised update).
 *
 * An upgrade through the package manager raises no alarm: the package installs a release
 * manifest signed with the release key (agent/release-manifest.ts); changed program and
 * catalogue files that are exactly those of a newer manifest signed with the key pinned at an
 * earlier start become agent.notice 'agent.upgraded' instead. The configuration is compared as
 * parsed settings, so an installer rewriting the same settings (other comments) is no change.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { NewAgentEvent } from '../src/shared/protocol/messages.js';
import { checkRelease } from './release-manifest.js';

/** SHA-256 of each file, by path; null when a file cannot be read. */
const FileHashes = z.record(z.string(), z.string().nullable());
type FileHashes = z.infer<typeof FileHashes>;

const Recorded = z.object({
  /** 3: the configuration is hashed as parsed settings (v2 hashed its bytes). */
  v: z.union([z.literal(2), z.literal(3)]),
  program: FileHashes,
  catalogue: FileHashes,
  config: FileHashes,
  /** size:mtime:ctime:inode of each file when it was hashed: an unchanged file is not read again (the Node runtime is ~100 MB). */
  stats: z.record(z.string(), z.string()).default({}),
  /** The release signing key pinned at the first start that saw a signed manifest, and the version installed then. */
  release: z.object({ key: z.string(), version: z.string() }).optional(),
  at: z.string(),
});
type Recorded = z.infer<typeof Recorded>;

/** What integrity.json held before the whole program was covered: one config file, one program file. */
const RecordedV1 = z.object({
  config: z.object({ path: z.string(), sha256: z.string().nullable() }).nullable(),
  binary: z.object({ path: z.string(), sha256: z.string().nullable() }),
  at: z.string(),
});

type Group = 'program' | 'catalogue' | 'config';
const NOTICE: Record<Group, string> = { program: 'binary.changed', catalogue: 'catalogue.changed', config: 'config.changed' };
/** Files listed per group in a notice (the counts are always complete). */
const MAX_LISTED = 20;
/** Most files hashed per directory tree: an installed agent has a few dozen. */
const MAX_FILES = 5000;

/** SHA-256 of a file, streamed (no 100 MB buffer, the agent keeps running meanwhile), or null when it cannot be read. */
export async function fileSha256(path: string, signal?: AbortSignal, pause?: () => Promise<void>): Promise<string | null> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) })) {
      // Each megabyte is tens of milliseconds of this thread on a slow PC: urgent work (a USB check) goes first.
      if (pause) await pause();
      hash.update(chunk as Buffer);
    }
    return hash.digest('hex');
  } catch {
    return null;
  }
}

/** What changes whenever the content can have changed: the change time (ctime) is set by the kernel, not by the writer. */
function statKey(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
  } catch {
    return null;
  }
}

/** Every regular file under dir (depth-first, sorted), skipping the named directories. */
function filesUnder(dir: string, skip: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (out.length >= MAX_FILES) return;
      const path = join(d, name);
      let st;
      try {
        st = statSync(path);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!skip.has(name) && depth < 6) walk(path, depth + 1);
      } else if (st.isFile()) out.push(path);
    }
  };
  walk(dir, 0);
  return out;
}

/** Hash each file, re-using the previous hash of a file whose size, times and inode did not change. */
async function hashAll(paths: readonly string[], previous: Recorded | undefined, stats: Record<string, string>, signal?: AbortSignal, pause?: () => Promise<void>): Promise<FileHashes> {
  const known: FileHashes = previous ? { ...previous.program, ...previous.catalogue, ...previous.config } : {};
  const out: FileHashes = {};
  for (const p of paths) {
    const key = statKey(p);
    if (key) stats[p] = key;
    const reuse = key !== null && previous?.stats[p] === key && known[p] !== undefined;
    out[p] = reuse ? known[p]! : await fileSha256(p, signal, pause);
  }
  return out;
}

const DELETED = ' (deleted)';

/**
 * The runtime file the agent's next start will run. On Linux Node reads its path from
 * /proc/self/exe when it starts, and proc(5) names an executable already replaced on disk
 * "<path> (deleted)": an agent started while dpkg or rpm was unpacking a new node (a restart
 * during an upgrade or a rollback) carries that name for its whole life. The file to judge is
 * the one now at the path; the suffixed name exists nowhere and would hash to nothing.
 */
export function runtimeOnDisk(execPath: string = process.execPath): string {
  if (!execPath.endsWith(DELETED) || existsSync(execPath)) return execPath;
  return execPath.slice(0, -DELETED.length);
}

export interface IntegrityFiles {
  /** A file of the agent's bundle; its whole bundle directory is covered (the chunks/ of a split build included). */
  programPath: string;
  /** The Node runtime running the agent (default: process.execPath, as on disk). */
  runtimePath?: string;
  /** The product's config/ directory: rule catalogues, sources, end-of-support lists. */
  catalogueDir?: string | undefined;
  configPath?: string | undefined;
  /** Where the signed release manifest is (default: the directory of programPath, the install directory). */
  releaseDir?: string;
}

/** The files of each group as they are now. */
export async function currentFiles(files: IntegrityFiles, previous?: Recorded, signal?: AbortSignal, pause?: () => Promise<void>): Promise<Omit<Recorded, 'v' | 'at'>> {
  const stats: Record<string, string> = {};
  const here = dirname(files.programPath);
  // A split build keeps its chunks in chunks/ next to the entry bundle.
  const bundleRoot = basename(here) === 'chunks' ? dirname(here) : here;
  const programFiles = filesUnder(bundleRoot, new Set(['node_modules', 'config', 'test'])).filter((p) => /\.(m?js|cjs|node|wasm|exe|dll)$/i.test(p) || p === files.programPath);
  return {
    program: await hashAll([...new Set([...programFiles, files.runtimePath ?? runtimeOnDisk()])].sort(), previous, stats, signal, pause),
    catalogue: files.catalogueDir ? await hashAll(filesUnder(files.catalogueDir), previous, stats, signal, pause) : {},
    config: files.configPath ? { [files.configPath]: settingsDigest(files.configPath) } : {},
    stats,
  };
}

/** Object keys sorted at every level: the same settings give the same text whatever their order in the file. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  return value;
}

/**
 * SHA-256 of the configuration's settings, not of its bytes: an installer that writes the same
 * settings again (another comment, another key order, other quoting) changes nothing; any
 * changed value does. A file that is not valid YAML is hashed as bytes.
 */
export function settingsDigest(path: string): string | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  try {
    return createHash('sha256').update(`settings:${JSON.stringify(canonical(parseYaml(text)))}`).digest('hex');
  } catch {
    return createHash('sha256').update(text).digest('hex');
  }
}

function previousRecord(path: string): Recorded | undefined {
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  const v2 = Recorded.safeParse(raw);
  if (v2.success) return v2.data;
  const v1 = RecordedV1.safeParse(raw);
  if (!v1.success) return undefined;
  return { v: 2, program: { [v1.data.binary.path]: v1.data.binary.sha256 }, catalogue: {}, config: v1.data.config ? { [v1.data.config.path]: v1.data.config.sha256 } : {}, stats: {}, at: v1.data.at };
}

/** One digest of a group: SHA-256 over its sorted "path sha" lines (null for an empty group). */
function groupDigest(files: FileHashes): string | null {
  const lines = Object.keys(files)
    .sort()
    .map((p) => `${p} ${files[p] ?? '-'}`);
  return lines.length ? createHash('sha256').update(lines.join('\n')).digest('hex') : null;
}

function difference(before: FileHashes, after: FileHashes): { path: string; oldSha256: string | null; newSha256: string | null }[] {
  const paths = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return paths.filter((p) => before[p] !== after[p]).map((p) => ({ path: p, oldSha256: before[p] ?? null, newSha256: after[p] ?? null }));
}

/**
 * Compare the files with the previous start, record the current hashes, and return the
 * notices to send (none at the very first start). The catalogue group is compared only when
 * both starts recorded it (an agent upgraded from a version that did not). Aborted (the agent
 * stopped first), nothing is recorded: a file changed after the stop must still count as a
 * change at the next start.
 */
/** `pause`: awaited before each megabyte hashed (the agent: while a USB check runs). */
export async function integrityNotices(stateDir: string, files: IntegrityFiles, now = new Date(), signal?: AbortSignal, pause?: () => Promise<void>): Promise<NewAgentEvent[]> {
  const path = join(stateDir, 'integrity.json');
  const previous = previousRecord(path);
  // The signed manifest of the installed release, checked with the key pinned earlier (or, the first time, the shipped one).
  const release = checkRelease(files.releaseDir ?? dirname(files.programPath), previous?.release?.key);
  const pinned = previous?.release ?? (release.ok ? { key: release.release.key, version: release.release.version } : undefined);
  const current: Recorded = {
    v: 3,
    ...(await currentFiles(files, previous, signal, pause)),
    ...(pinned ? { release: release.ok ? { key: pinned.key, version: release.release.version } : pinned } : {}),
    at: now.toISOString(),
  };
  if (signal?.aborted) return [];
  writeFileSync(`${path}.tmp`, JSON.stringify(current), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
  if (!previous) return [];
  const at = now.toISOString();
  const notices: NewAgentEvent[] = [];
  // An upgrade through the package manager: every changed program or catalogue file is exactly
  // the file of a newer (other) release whose manifest the pinned key signed.
  const upgrade = previous.release && release.ok && release.release.version !== previous.release.version ? release.release : undefined;
  const upgraded: ReturnType<typeof difference> = [];
  for (const group of ['config', 'program', 'catalogue'] as const) {
    if (group === 'catalogue' && Object.keys(previous.catalogue).length === 0) continue;
    // An agent that hashed the configuration's bytes (v2) starts comparing settings from now on.
    if (group === 'config' && previous.v === 2) continue;
    const changed = difference(previous[group], current[group]);
    if (changed.length === 0) continue;
    if (group !== 'config' && upgrade && changed.every((c) => c.newSha256 !== null && upgrade.files[c.path] === c.newSha256)) {
      upgraded.push(...changed);
      continue;
    }
    notices.push({
      at,
      kind: 'agent.notice',
      notice: NOTICE[group],
      detail: {
        path: changed[0]!.path,
        oldSha256: groupDigest(previous[group]),
        newSha256: groupDigest(current[group]),
        changedFiles: changed.length,
        files: changed.slice(0, MAX_LISTED),
        since: previous.at,
        ...(release.ok ? {} : { release: release.reason }),
      },
    });
  }
  if (upgraded.length) {
    notices.push({ at, kind: 'agent.notice', notice: 'agent.upgraded', detail: { fromVersion: previous.release!.version, toVersion: upgrade!.version, changedFiles: upgraded.length, files: upgraded.slice(0, MAX_LISTED), since: previous.at } });
  }
  return notices;
}
