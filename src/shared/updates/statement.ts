/**
 * The signed statement that comes with every agent package (scripts/package.mjs writes it as
 * `<package>.update.json`): which product, for which installer, which version, the package's
 * SHA-256 and size, and an Ed25519 signature by the release signing key — the key that also
 * signs the release manifest and that the agent pinned at its first start (agent/integrity.ts).
 * The collector only stores and serves packages; the agent installs one only when this
 * signature verifies with its pinned key and the bytes it downloaded have this hash.
 */
import { createPublicKey, verify } from 'node:crypto';
import { z } from 'zod';

/** The OS installer a package is for: dpkg, rpm, msiexec. */
export const UpdatePlatform = z.enum(['deb', 'rpm', 'msi']);
export type UpdatePlatform = z.infer<typeof UpdatePlatform>;

export const UpdateStatement = z.object({
  product: z.literal('mamori-agent'),
  platform: UpdatePlatform,
  version: z.string().regex(/^\d+\.\d+\.\d+([+~.-][0-9A-Za-z.+~-]+)?$/).max(64),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().positive(),
});
export type UpdateStatement = z.infer<typeof UpdateStatement>;

export const SignedUpdateStatement = UpdateStatement.extend({ signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/) });
export type SignedUpdateStatement = z.infer<typeof SignedUpdateStatement>;

/** The exact bytes signed (scripts/package.mjs builds the same line). */
export function statementBytes(s: UpdateStatement): Buffer {
  return Buffer.from(`mamori-update-v1|${s.product}|${s.platform}|${s.version}|${s.sha256}|${s.size}`);
}

/** Whether `signature` (base64) is the release key's signature of this statement; never throws. */
export function statementSignatureValid(s: UpdateStatement, signature: string, releaseKeyB64: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(releaseKeyB64, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return verify(null, statementBytes(s), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
