/**
 * The update in progress on this PC, in the state directory (updates/, 0700):
 *   pending.json            written by the agent when both packages are downloaded and verified,
 *                           then by the update guard at each step (state)
 *   running-<rollout>.json  the new agent's pid, written at its start (the guard stops it when it goes back)
 *   confirmed-<rollout>     the new agent reached the collector: the update stays
 *   reported-<rollout>      the agent queued its report of the outcome (sent once)
 *   <sha256>.deb|rpm|msi    the downloaded packages: those of the latest update (the version the PC
 *                           runs and the other one) are kept, older ones removed (pruneUpdates);
 *                           <sha256>.msi.log is msiexec's verbose log of installing it
 *   guard\                  Windows: the copy of node.exe and the agent program the guard runs
 *                           from, so that msiexec can replace the installed ones
 * The agent and the guard never write the same file, so neither overwrites the other's step.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SignedUpdateStatement, UpdatePlatform } from '../../src/shared/updates/statement.js';
import { statementSignatureValid } from '../../src/shared/updates/statement.js';

export const UPDATE_STATES = ['verified', 'installing', 'installed', 'confirmed', 'rolled_back', 'failed'] as const;
export type UpdateState = (typeof UPDATE_STATES)[number];

const LocalPackage = SignedUpdateStatement.extend({ file: z.string() });
export type LocalPackage = z.infer<typeof LocalPackage>;

export const PendingUpdate = z.object({
  rolloutId: z.string(),
  platform: UpdatePlatform,
  target: LocalPackage,
  rollback: LocalPackage,
  fromVersion: z.string(),
  deadlineSeconds: z.number().int().positive(),
  /** Windows: the folder the MSI installs the program into (the guard runs from a copy elsewhere and reads the installed version there). */
  programDir: z.string().optional(),
  /** The agent that downloaded it: stopped after the install when the service manager did not restart it. */
  agentPid: z.number().int(),
  state: z.enum(UPDATE_STATES),
  reason: z.string().optional(),
  at: z.string(),
});
export type PendingUpdate = z.infer<typeof PendingUpdate>;

export const updatesDir = (stateDir: string) => join(stateDir, 'updates');
const file = (stateDir: string, name: string) => join(updatesDir(stateDir), name);

export function readPending(stateDir: string): PendingUpdate | undefined {
  try {
    return PendingUpdate.parse(JSON.parse(readFileSync(file(stateDir, 'pending.json'), 'utf8')));
  } catch {
    return undefined;
  }
}

export function writePending(stateDir: string, p: PendingUpdate): void {
  mkdirSync(updatesDir(stateDir), { recursive: true, mode: 0o700 });
  const path = file(stateDir, 'pending.json');
  writeFileSync(`${path}.tmp`, JSON.stringify(p, null, 1), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** Create a marker file (its content: a small JSON record). */
export function mark(stateDir: string, name: 'running' | 'confirmed' | 'reported', rolloutId: string, content: Record<string, unknown> = {}): void {
  mkdirSync(updatesDir(stateDir), { recursive: true, mode: 0o700 });
  writeFileSync(file(stateDir, `${name}-${rolloutId}${name === 'running' ? '.json' : ''}`), JSON.stringify({ ...content, at: new Date().toISOString() }), { mode: 0o600 });
}

export function marked(stateDir: string, name: 'confirmed' | 'reported', rolloutId: string): boolean {
  return existsSync(file(stateDir, `${name}-${rolloutId}`));
}

/** The pid the new agent recorded at its start, if any. */
export function runningPid(stateDir: string, rolloutId: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(file(stateDir, `running-${rolloutId}.json`), 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function sha256Of(path: string): Promise<{ sha256: string; size: number } | undefined> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch {
    return undefined;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Why this package file must not be installed (signature, hash or size), or undefined when it may. */
export async function packageRefusal(p: LocalPackage, releaseKey: string): Promise<string | undefined> {
  if (!statementSignatureValid(p, p.signature, releaseKey)) return `${p.platform} パッケージ ${p.version} の署名が、この端末に固定したリリース鍵のものではありません / the statement of ${p.platform} ${p.version} is not signed by the pinned release key`;
  const actual = await sha256Of(p.file);
  if (!actual) return `${p.file} を読めません / ${p.file} cannot be read`;
  if (actual.size !== p.size || actual.sha256 !== p.sha256) return `${p.file} は署名されたパッケージ ${p.version} と一致しません / ${p.file} is not the signed package ${p.version} (SHA-256 or size differ)`;
  return undefined;
}

/** A file of the updates directory that belongs to one update: a package (or its partial download) or a marker of a rollout. */
const PACKAGE_FILE = /^[0-9a-f]{64}\.(deb|rpm|msi)(\.part|\.log)?$/;
const MARKER_FILE = /^(running|confirmed|reported)-(.+?)(\.json)?$/;

/**
 * Once an update has ended (installed, gone back or failed), keep only its two packages — the
 * version the PC runs and the other one, what a next update needs to go back without the
 * network — and its own markers; remove older packages, partial downloads and the markers of
 * earlier rollouts. Returns the names removed.
 */
export function pruneUpdates(stateDir: string, latest: PendingUpdate): string[] {
  const dir = updatesDir(stateDir);
  const keep = new Set([latest.target.file, latest.rollback.file].map((f) => f.slice(Math.max(f.lastIndexOf('/'), f.lastIndexOf('\\')) + 1)));
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const marker = MARKER_FILE.exec(name);
    const old = PACKAGE_FILE.test(name) ? !keep.has(name.replace(/\.(part|log)$/, '')) || name.endsWith('.part') : marker ? marker[2] !== latest.rolloutId : false;
    if (!old) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed.sort();
}
