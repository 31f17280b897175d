/**
 * The enrollment token is only needed until the agent has enrolled. Once the identity is saved,
 * the token is removed from the configuration file, so a copy of agent.yml (backup, disk image,
 * removed-but-kept /etc/mamori) does not hand out a still-valid token of the rollout.
 */
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';

/** Remove `enrollToken` from the YAML configuration FILE, keeping its comments; true when one was removed. */
export function forgetEnrollToken(file: string): boolean {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (!doc.has('enrollToken')) return false;
  doc.delete('enrollToken');
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, doc.toString(), { mode: 0o600 });
  if (process.platform !== 'win32') chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return true;
}
