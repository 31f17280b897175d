import { usbFingerprint } from './fingerprint.js';

export { normaliseSerial } from './fingerprint.js';
/** Pure parsers and identity rules of the Linux USB-media probes (sysfs values, mountinfo, modprobe.d, USBGuard). */

/** A sysfs attribute as the kernel prints it: one line; absent string descriptors are absent files. */
export function sysfsValue(text: string): string | null {
  const v = text.replace(/\n$/, '').trim();
  return v === '' ? null : v;
}

/** Interface triple `cc:ss:pp` from the three sysfs hex attributes (lower-case, two digits each). */
export function interfaceTriple(cls: string, sub: string, proto: string): string {
  const h = (x: string): string => x.trim().toLowerCase().padStart(2, '0');
  return `${h(cls)}:${h(sub)}:${h(proto)}`;
}

/** Descriptor values the identity is made of. */
export interface UsbIdentity {
  vendorId: string;
  productId: string;
  serial: string | null;
  manufacturer: string | null;
  product: string | null;
  bcdDevice: string | null;
  interfaceClasses: string[];
}

/** Serial as the 媒体管理台帳 keys it: trimmed and upper-cased; empty means none. */
/** See ./fingerprint.ts: the same identity as on Windows for the same stick. */
export function fingerprint(id: UsbIdentity): string {
  return usbFingerprint({ vendorId: id.vendorId, productId: id.productId, serial: id.serial, bcdDevice: id.bcdDevice ?? null, product: id.product ?? null });
}

/** One line of /proc/self/mountinfo (proc(5)): the device number and the mount point. */
export interface MountEntry {
  majMin: string;
  mountPoint: string;
  source: string;
}

/** /proc/self/mountinfo; octal escapes (`\040` for space) in paths are decoded. */
export function parseMountinfo(text: string): MountEntry[] {
  const un = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (f.length < 10 || dash < 6 || !/^\d+:\d+$/.test(f[2] ?? '')) continue;
    out.push({ majMin: f[2]!, mountPoint: un(f[4]!), source: un(f[dash + 2] ?? '') });
  }
  return out;
}

/** modprobe.d(5) commands that keep a module from loading on hot-plug. */
export interface ModuleBlock {
  module: string;
  how: 'blacklist' | 'install';
  file: string;
}

/**
 * Lines `blacklist <module>` (udev's `modprobe -b` honours it) and `install <module> /bin/false`
 * (or `/bin/true`, as CIS benchmarks write it). Module names compare with `-` and `_` equal.
 */
export function parseModprobeBlocks(files: { name: string; text: string }[]): ModuleBlock[] {
  const out: ModuleBlock[] = [];
  for (const f of files) {
    for (const raw of f.text.split('\n')) {
      const t = raw.replace(/#.*/, '').trim().split(/\s+/);
      const mod = (t[1] ?? '').replace(/-/g, '_');
      if (t[0] === 'blacklist' && mod) out.push({ module: mod, how: 'blacklist', file: f.name });
      if (t[0] === 'install' && mod && t.length === 3 && /^(\/usr)?(\/bin\/)?(false|true)$/.test(t[2]!)) out.push({ module: mod, how: 'install', file: f.name });
    }
  }
  return out;
}

/**
 * USBGuard (usbguard-rules.conf(5)): does it keep mass storage (interface class 08) off?
 * Yes when no `allow` rule admits an 08 interface (or any interface, `*:*:*`), and either a
 * `block`/`reject` rule names an 08 interface or the implicit policy blocks/rejects what no rule allows.
 */
export function usbguardBlocksStorage(rules: string, implicitTarget: string | null): boolean {
  let allows = false;
  let blocks = false;
  for (const raw of rules.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const target = line.split(/\s+/)[0];
    const iface = /with-interface\s+(?:(?:all-of|one-of|none-of|equals|equals-ordered)\s+)?(\{[^}]*\}|\S+)/.exec(line)?.[1] ?? '';
    const triples = iface.replace(/[{}]/g, ' ').trim().split(/\s+/).filter(Boolean);
    const hits08 = triples.some((t) => t.startsWith('08:') || t === '*:*:*');
    if (target === 'allow' && (hits08 || triples.length === 0)) {
      // An allow without with-interface admits whatever it matches by id, storage included.
      allows = true;
    }
    if ((target === 'block' || target === 'reject') && triples.some((t) => t.startsWith('08:'))) blocks = true;
  }
  return !allows && (blocks || implicitTarget === 'block' || implicitTarget === 'reject');
}

/** `ImplicitPolicyTarget` and `RuleFile` of usbguard-daemon.conf. */
export function parseUsbguardDaemonConf(text: string): { implicitTarget: string | null; ruleFile: string | null } {
  const get = (k: string): string | null => new RegExp(`^\\s*${k}\\s*=\\s*(\\S+)`, 'm').exec(text)?.[1] ?? null;
  return { implicitTarget: get('ImplicitPolicyTarget'), ruleFile: get('RuleFile') };
}
