/**
 * `lsblk -J` trees, normalised across util-linux versions: booleans and numbers were strings
 * before 2.33 (`"rm": "0"`, RHEL 8 ships 2.32), and `mountpoint` (≤ 2.36, one value) became
 * `mountpoints` (≥ 2.37, an array that may hold `null`) — util-linux#1474.
 */

/** One block device with its children (partitions, crypt mappings, LVM volumes). */
export interface BlockNode {
  name: string;
  kname: string | null;
  path: string | null;
  type: string;
  fstype: string | null;
  tran: string | null;
  removable: boolean | null;
  readOnly: boolean | null;
  sizeBytes: number | null;
  serial: string | null;
  mountpoints: string[];
  children: BlockNode[];
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}
function bool(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (v === '1' || v === 1) return true;
  if (v === '0' || v === 0) return false;
  return null;
}
function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return null;
}

function node(raw: Record<string, unknown>): BlockNode {
  const mps = Array.isArray(raw.mountpoints) ? raw.mountpoints : [raw.mountpoint];
  return {
    name: str(raw.name) ?? '',
    kname: str(raw.kname),
    path: str(raw.path),
    type: str(raw.type) ?? '',
    fstype: str(raw.fstype),
    tran: str(raw.tran),
    removable: bool(raw.rm),
    readOnly: bool(raw.ro),
    sizeBytes: num(raw.size),
    serial: str(raw.serial)?.trim() ?? null,
    mountpoints: mps.filter((m): m is string => typeof m === 'string' && m !== ''),
    children: Array.isArray(raw.children) ? raw.children.filter((c): c is Record<string, unknown> => !!c && typeof c === 'object').map(node) : [],
  };
}

/** Parse `lsblk -J …` output; null when it is not lsblk JSON. */
export function parseLsblk(text: string): BlockNode[] | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  const devs = (doc as { blockdevices?: unknown } | null)?.blockdevices;
  if (!Array.isArray(devs)) return null;
  return devs.filter((d): d is Record<string, unknown> => !!d && typeof d === 'object').map(node);
}

/** Every path from a top-level device down to a node mounted at `mountpoint` (a device under RAID/LVM appears once per parent). */
export function pathsToMount(roots: BlockNode[], mountpoint: string): BlockNode[][] {
  const out: BlockNode[][] = [];
  const walk = (n: BlockNode, trail: BlockNode[]): void => {
    const here = [...trail, n];
    if (n.mountpoints.includes(mountpoint)) out.push(here);
    for (const c of n.children) walk(c, here);
  };
  for (const r of roots) walk(r, []);
  return out;
}

/** All mount points in a subtree (a partition, a LUKS mapping inside it …). */
export function subtreeMountpoints(n: BlockNode): string[] {
  return [...n.mountpoints, ...n.children.flatMap(subtreeMountpoints)];
}
