/**
 * One identity for all collector nodes on a PostgreSQL database: the CA agents pin, the
 * Ed25519 key that signs policies, and the key that MACs the console audit log (a row written
 * on one node must verify on every other). The first node to start records their public
 * fingerprints in `cluster_identity`; every node that starts later compares its own material
 * (DATA/tls, copied from the first node as docs/scaling.md describes) and refuses to start
 * when it differs. Without this check a node with a CA of its own would serve agents that
 * cannot fail over to it, and sign policies that agents enrolled elsewhere refuse.
 *
 * Only fingerprints are stored: the private keys stay in each node's DATA/tls (0600), so a copy
 * of the database gives nobody the CA or the policy key.
 */
import { createHash, createHmac } from 'node:crypto';
import type { SqlRunner } from '../store/sql.js';
import { formatFingerprint } from '../../shared/tls/fingerprint.js';

export class ClusterIdentityError extends Error {
  readonly code = 'CLUSTER_IDENTITY_MISMATCH';
}

export interface NodeIdentity {
  /** SHA-256 of the CA certificate (hex); absent when the node serves plain ws (lab only). */
  caFingerprint?: string;
  /** Base64 DER SubjectPublicKeyInfo of the policy-signing key. */
  policyPublicKey: string;
  /** The console audit log's MAC key (DATA/tls/audit-mac.key): only a keyed digest of it is recorded. */
  auditMacKey: Buffer;
}

const LOCK = "SELECT pg_advisory_xact_lock(hashtext('mamori.cluster.identity'))";

/** A digest that tells whether two nodes hold the same audit MAC key, and reveals nothing of it. */
function auditKeyFingerprint(key: Buffer): string {
  return createHmac('sha256', key).update('mamori cluster identity').digest('hex');
}

/** SHA-256 of the policy key's SPKI, in the colon form operators compare. */
export function policyKeyFingerprint(publicKeyBase64: string): string {
  return createHash('sha256').update(Buffer.from(publicKeyBase64, 'base64')).digest('hex');
}

/**
 * Record this node's identity if the cluster has none yet, else check it. Values the cluster
 * has not recorded yet (a CA, when earlier nodes ran without TLS) are added.
 */
export async function checkClusterIdentity(sql: SqlRunner, node: NodeIdentity, nodeId: string, now = new Date()): Promise<void> {
  const mine: Record<string, string> = { 'policy-key': policyKeyFingerprint(node.policyPublicKey), 'audit-key': auditKeyFingerprint(node.auditMacKey) };
  if (node.caFingerprint) mine.ca = node.caFingerprint;
  await sql.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.get(LOCK);
    const recorded = new Map((await tx.all<{ name: string; value: string; recorded_by: string }>('SELECT name, value, recorded_by FROM cluster_identity')).map((r) => [r.name, r]));
    const wrong: string[] = [];
    for (const [name, value] of Object.entries(mine)) {
      const have = recorded.get(name);
      if (!have) await tx.run('INSERT INTO cluster_identity (name, value, recorded_at, recorded_by) VALUES (?, ?, ?, ?)', [name, value, now.toISOString(), nodeId]);
      else if (have.value !== value) wrong.push(`${LABEL[name] ?? name}: このノード SHA256 ${formatFingerprint(value)} / クラスタ (${have.recorded_by} が記録) SHA256 ${formatFingerprint(have.value)}`);
    }
    if (wrong.length > 0) {
      throw new ClusterIdentityError(
        `このノードの鍵素材 (DATA/tls) が同じデータベースの他のノードと異なるため起動しません。${wrong.join('; ')}。最初のノードの DATA/tls をこのノードへ複写してから起動してください (docs/scaling.md)。` +
          ` / This node's TLS material differs from the cluster's; copy DATA/tls from the first node (docs/scaling.md).`,
      );
    }
  });
}

const LABEL: Record<string, string> = { ca: 'CA 証明書', 'policy-key': 'ポリシー署名鍵', 'audit-key': '操作記録の改ざん検知鍵' };
