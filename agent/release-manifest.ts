/**
 * The signed release manifest the packages install next to the agent (scripts/package.mjs,
 * writeReleaseManifest): release-manifest.json lists the SHA-256 of every installed file,
 * release-manifest.sig is its Ed25519 signature, release-key.pem the public key. The agent pins
 * the key the first time it sees a manifest (integrity.json) and from then on treats changed
 * program and catalogue files as an upgrade — not as tampering — only when they are exactly the
 * files of a newer manifest signed with that pinned key (agent/integrity.ts).
 */
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const Manifest = z.object({ product: z.literal('mamori-agent'), version: z.string().min(1).max(64), files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)) });

export interface Release {
  version: string;
  /** The public key that signed it (base64 SPKI DER). */
  key: string;
  /** SHA-256 by absolute path. */
  files: Record<string, string>;
}

export type ReleaseCheck = { ok: true; release: Release } | { ok: false; reason: string };

/** Read and verify the manifest in `installDir`, with `pinnedKey` (base64 SPKI DER) when one is pinned, else with the key shipped beside it. */
export function checkRelease(installDir: string, pinnedKey?: string): ReleaseCheck {
  let bytes: Buffer;
  let signature: Buffer;
  let shippedKey: string;
  try {
    bytes = readFileSync(join(installDir, 'release-manifest.json'));
    signature = Buffer.from(readFileSync(join(installDir, 'release-manifest.sig'), 'utf8').trim(), 'base64');
    shippedKey = createPublicKey(readFileSync(join(installDir, 'release-key.pem'))).export({ type: 'spki', format: 'der' }).toString('base64');
  } catch (err) {
    return { ok: false, reason: `no release manifest: ${(err as Error).message}` };
  }
  const key = pinnedKey ?? shippedKey;
  if (pinnedKey && shippedKey !== pinnedKey) return { ok: false, reason: 'the release key shipped with this package is not the pinned one' };
  let valid = false;
  try {
    valid = verify(null, bytes, createPublicKey({ key: Buffer.from(key, 'base64'), format: 'der', type: 'spki' }), signature);
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'the release manifest signature does not verify' };
  let parsed;
  try {
    parsed = Manifest.safeParse(JSON.parse(bytes.toString('utf8')));
  } catch {
    return { ok: false, reason: 'the release manifest is not JSON' };
  }
  if (!parsed.success) return { ok: false, reason: 'the release manifest has the wrong form' };
  const files = Object.fromEntries(Object.entries(parsed.data.files).map(([rel, sha]) => [join(installDir, ...rel.split('/')), sha]));
  return { ok: true, release: { version: parsed.data.version, key, files } };
}
