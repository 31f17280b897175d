/** Pure parsers of the Linux firewall, encryption and time probes. */
import type { BlockNode } from './linux-lsblk.js';
import { pathsToMount } from './linux-lsblk.js';

/** /etc/ufw/ufw.conf `ENABLED=yes|no` (quotes allowed); null when the key is missing. */
export function parseUfwConf(text: string): boolean | null {
  const m = /^\s*ENABLED\s*=\s*"?(yes|no)"?\s*$/im.exec(text);
  return m ? m[1]!.toLowerCase() === 'yes' : null;
}

/**
 * `LC_ALL=C ufw status verbose` (root only): `Status: active|inactive`, and when active
 * `Default: deny (incoming), allow (outgoing), disabled (routed)`.
 */
export function parseUfwStatus(text: string): { active: boolean; defaultInboundBlock: boolean | null } | null {
  const s = /^Status:\s*(active|inactive)\s*$/m.exec(text);
  if (!s) return null;
  const d = /^Default:\s*(\w+)\s*\(incoming\)/m.exec(text);
  return { active: s[1] === 'active', defaultInboundBlock: d ? d[1] === 'deny' || d[1] === 'reject' : null };
}

/** An nftables base chain on the input hook. */
export interface InputChain {
  family: string;
  table: string;
  name: string;
  policy: string;
  /** The chain ends with an unconditional drop/reject rule (same effect as policy drop). */
  endsWithDrop: boolean;
}

/**
 * `nft -j list ruleset` (libnftables-json(5)): `{"nftables":[{"metainfo":…},{"table":…},{"chain":{family,table,name,type,hook,prio,policy}},{"rule":{family,table,chain,expr:[…]}}…]}`.
 * Returns the filter chains hooked on `input`; tables of Docker/libvirt alone do not make a firewall.
 */
export function parseNftInputChains(text: string): InputChain[] | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  const items = (doc as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(items)) return null;
  const chains: InputChain[] = [];
  const lastRule = new Map<string, unknown[]>();
  for (const it of items as Record<string, Record<string, unknown>>[]) {
    const c = it.chain;
    if (c && c.hook === 'input' && (c.type ?? 'filter') === 'filter') {
      chains.push({ family: String(c.family), table: String(c.table), name: String(c.name), policy: String(c.policy ?? 'accept'), endsWithDrop: false });
    }
    const r = it.rule;
    if (r && Array.isArray(r.expr)) lastRule.set(`${String(r.family)} ${String(r.table)} ${String(r.chain)}`, r.expr);
  }
  for (const ch of chains) {
    const expr = lastRule.get(`${ch.family} ${ch.table} ${ch.name}`);
    ch.endsWithDrop = !!expr && expr.length === 1 && !!expr[0] && typeof expr[0] === 'object' && ('drop' in expr[0] || 'reject' in expr[0]);
  }
  return chains;
}

/** Inbound IPv4 and IPv6 are both filtered: an `inet` input chain that drops by default, or both an `ip` and an `ip6` one. */
export function nftBlocksInbound(chains: InputChain[]): boolean {
  const drops = (c: InputChain): boolean => c.policy === 'drop' || c.endsWithDrop;
  const fam = new Set(chains.filter(drops).map((c) => c.family));
  return fam.has('inet') || (fam.has('ip') && fam.has('ip6'));
}

/** `iptables -S INPUT` (legacy backend): the `-P INPUT DROP` policy line. */
export function parseIptablesPolicy(text: string): string | null {
  const m = /^-P INPUT (\w+)/m.exec(text);
  return m ? m[1]! : null;
}

/**
 * The system disk: every lsblk path to the device mounted at `/` must pass a `crypt` device
 * (LUKS directly, or LUKS under LVM — the crypt is then an ancestor of the lvm volume).
 * Returns null when nothing in the tree is mounted at `/` (overlay/container roots, NFS root).
 */
export function rootEncryption(roots: BlockNode[]): { encrypted: boolean; cryptKname: string | null; rootPath: string } | null {
  const paths = pathsToMount(roots, '/');
  if (paths.length === 0) return null;
  const cryptOf = (path: BlockNode[]): BlockNode | undefined => [...path].reverse().find((n) => n.type === 'crypt');
  const encrypted = paths.every((pth) => cryptOf(pth) !== undefined);
  const crypt = cryptOf(paths[0]!);
  const leaf = paths[0]![paths[0]!.length - 1]!;
  return { encrypted, cryptKname: encrypted ? (crypt?.kname ?? crypt?.name ?? null) : null, rootPath: leaf.path ?? leaf.name };
}

/** `/sys/block/dm-N/dm/uuid` of a dm-crypt mapping: `CRYPT-LUKS2-<uuid>-<name>` → `luks2`, `CRYPT-PLAIN-…` → `plain`. */
export function cryptMethodFromDmUuid(uuid: string): string | null {
  const m = /^CRYPT-([A-Z0-9]+)-/.exec(uuid.trim());
  return m ? m[1]!.toLowerCase() : null;
}

/** `timedatectl show` (systemd ≥ 239, machine-readable): NTPSynchronized=yes|no. Never `timedatectl status` (labels changed in v235). */
export function parseTimedatectl(text: string): { synchronized: boolean; ntp: boolean | null } | null {
  const kv = new Map(text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()] as const));
  const s = kv.get('NTPSynchronized');
  if (s !== 'yes' && s !== 'no') return null;
  const n = kv.get('NTP');
  return { synchronized: s === 'yes', ntp: n === 'yes' ? true : n === 'no' ? false : null };
}

/**
 * `chronyc -c tracking` (CSV): reference id, reference name/address, stratum, ref time, …, leap
 * status last (`Normal`, `Insert second`, `Delete second`, `Not synchronised`).
 */
export function parseChronyTracking(text: string): { source: string | null; synchronized: boolean } | null {
  const f = text.trim().split('\n')[0]?.split(',');
  if (!f || f.length < 10) return null;
  const leap = f[f.length - 1]!.trim();
  const name = f[1]?.trim() ?? '';
  return { source: name && name !== '0.0.0.0' ? name : null, synchronized: leap !== 'Not synchronised' && name !== '' && f[2] !== '0' };
}
