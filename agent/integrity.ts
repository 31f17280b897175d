/**
 * Has the agent been tampered with? At every start the agent hashes its configuration file
 * and its own program file and compares them with what it recorded at the previous start
 * (integrity.json in the state directory, 0600). A difference becomes agent.notice
 * 'config.changed' / 'binary.changed' with the old and new hashes; the collector turns it into
 * AGENT-004 (an administrator confirms an authorised update).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { NewAgentEvent } from '../src/shared/protocol/messages.js';

const Recorded = z.object({
  config: z.object({ path: z.string(), sha256: z.string().nullable() }).nullable(),
  binary: z.object({ path: z.string(), sha256: z.string().nullable() }),
  at: z.string(),
});
type Recorded = z.infer<typeof Recorded>;

/** SHA-256 of a file, or null when it cannot be read. */
export function fileSha256(path: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return null;
  }
}

/**
 * Compare the files with the previous start, record the current hashes, and return the
 * notices to send (none at the very first start).
 */
export function integrityNotices(stateDir: string, files: { configPath?: string | undefined; programPath: string }, now = new Date()): NewAgentEvent[] {
  const path = join(stateDir, 'integrity.json');
  let previous: Recorded | undefined;
  if (existsSync(path)) {
    const parsed = Recorded.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (parsed.success) previous = parsed.data;
  }
  const current: Recorded = {
    config: files.configPath ? { path: files.configPath, sha256: fileSha256(files.configPath) } : null,
    binary: { path: files.programPath, sha256: fileSha256(files.programPath) },
    at: now.toISOString(),
  };
  writeFileSync(`${path}.tmp`, JSON.stringify(current), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
  if (!previous) return [];
  const at = now.toISOString();
  const notices: NewAgentEvent[] = [];
  const prevConfig = previous.config?.sha256 ?? null;
  const curConfig = current.config?.sha256 ?? null;
  if (prevConfig !== curConfig) {
    notices.push({ at, kind: 'agent.notice', notice: 'config.changed', detail: { path: current.config?.path ?? previous.config?.path ?? null, oldSha256: prevConfig, newSha256: curConfig, since: previous.at } });
  }
  if (previous.binary.sha256 !== current.binary.sha256) {
    notices.push({ at, kind: 'agent.notice', notice: 'binary.changed', detail: { path: current.binary.path, oldPath: previous.binary.path, oldSha256: previous.binary.sha256, newSha256: current.binary.sha256, since: previous.at } });
  }
  return notices;
}
