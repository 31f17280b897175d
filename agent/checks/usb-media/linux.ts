/**
 * Linux collector of the usb-media check: USB devices with a mass-storage interface (class 08)
 * from sysfs, their block devices and mount points, and whether the PC blocks USB storage
 * (modprobe.d for usb_storage/uas, USBGuard).
 */
import { because, inPart, probeWhy, said, setUnknown, type Why } from '../why.js';
import { keyPart } from '../../probes/types.js';
import type { CheckContext, CheckOutput, Collector } from '../types.js';
import { listProcesses } from '../software/linux-proc.js';
import type { UsbDevice, UsbMediaFacts } from './facts.js';
import { fingerprint, interfaceTriple, normaliseSerial, parseModprobeBlocks, parseMountinfo, parseUsbguardDaemonConf, sysfsValue, usbguardBlocksStorage } from './linux-parse.js';
import type { MountEntry } from './linux-parse.js';

/** Defaults of the OS paths (the check's `params`). */
export const LINUX_USB_MEDIA_PARAMS = {
  sysfsRoot: '/sys',
  enforcement: 'audit' as 'audit' | 'block',
  mountinfoPath: '/proc/self/mountinfo',
  modprobeDirs: ['/etc/modprobe.d', '/usr/lib/modprobe.d', '/lib/modprobe.d', '/run/modprobe.d'],
  usbguardDaemonConfPath: '/etc/usbguard/usbguard-daemon.conf',
  usbguardRulesPath: '/etc/usbguard/rules.conf',
  procRoot: '/proc',
  findPath: '/usr/bin/find',
};
type Params = typeof LINUX_USB_MEDIA_PARAMS;

class Unreadable extends Error {
  readonly code = 'PROBE_FAILED';
  constructor(readonly why: Why) {
    super(why.text);
  }
}

/** USB device directories (`2-1`, `1-4.2`); root hubs (`usb1`) and interfaces (`2-1:1.0`) are not. */
const DEVICE_DIR = /^\d+-\d+(\.\d+)*$/;

export const collect: Collector<UsbMediaFacts> = async (ctx) => {
  const p = { ...LINUX_USB_MEDIA_PARAMS, ...ctx.params } as Params;
  const out: CheckOutput<UsbMediaFacts> = { status: 'ok', facts: { enforcement: p.enforcement === 'block' ? 'block' : 'audit' }, unknownFacts: {} };
  try {
    out.facts.devices = await devices(ctx, p);
  } catch (err) {
    setUnknown(out, 'devices', err instanceof Unreadable ? err.why : said((err as Error).message));
  }
  const block = await exportBlock(ctx, p);
  if ('reason' in block) setUnknown(out, ['exportBlocked', 'exportBlockMechanism'], block.reason);
  else {
    // An attached, mounted USB disk shows that whatever is configured does not block it.
    const mounted = (out.facts.devices ?? []).some((d) => d.mountPoints.length > 0 && d.readOnly === false);
    out.facts.exportBlocked = block.blocked && !mounted;
    out.facts.exportBlockMechanism = block.blocked && !mounted ? block.mechanism : null;
  }
  if (!out.facts.devices && out.facts.exportBlocked === undefined) {
    out.status = 'unknown';
    const none = because('NOT_READ', 'why.usb.nothingRead', { devices: out.unknownMsgs!.devices!, control: out.unknownMsgs!.exportBlocked! });
    out.reason = none.text;
    out.reasonMsg = none.msg;
  }
  return out;
};

async function read(ctx: CheckContext, key: string, path: string, optional = false): Promise<string | null> {
  const r = await ctx.probes.readFile(key, path);
  if (r.ok) return sysfsValue(r.stdout);
  if (optional && r.failure === 'NOT_FOUND') return null;
  throw new Unreadable(probeWhy(r));
}

async function list(ctx: CheckContext, key: string, path: string, optional = false): Promise<string[]> {
  const r = await ctx.probes.listDir(key, path);
  if (!r.ok) {
    if (optional && r.failure === 'NOT_FOUND') return [];
    throw new Unreadable(probeWhy(r));
  }
  try {
    const v = JSON.parse(r.stdout) as unknown;
    if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  } catch {
    /* fall through */
  }
  throw new Unreadable(because('PARSE_FAILED', 'why.listing', { dir: path }));
}

function safeNames(json: string): string[] | null {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null;
  } catch {
    return null;
  }
}

async function devices(ctx: CheckContext, p: Params): Promise<UsbDevice[]> {
  const busDir = `${p.sysfsRoot}/bus/usb/devices`;
  const entries = await ctx.probes.listDir('usb.devices', busDir);
  if (!entries.ok) {
    if (entries.failure !== 'NOT_FOUND') throw new Unreadable(probeWhy(entries));
    // No USB core in this kernel (VMs, containers): no USB device can be attached. sysfs itself must be there.
    await list(ctx, 'sysfs.bus', `${p.sysfsRoot}/bus`);
    return [];
  }
  const names = safeNames(entries.stdout);
  if (!names) throw new Unreadable(because('PARSE_FAILED', 'why.listing', { dir: busDir }));
  const found: UsbDevice[] = [];
  let mounts: MountEntry[] | null = null;
  for (const dev of names.filter((n) => DEVICE_DIR.test(n))) {
    const k = `usb.${keyPart(dev)}`;
    const ifaces = names.filter((n) => n.startsWith(`${dev}:`));
    const triples: string[] = [];
    for (const i of ifaces) {
      const ik = `usb.${keyPart(i)}`;
      const base = `${busDir}/${i}`;
      // An interface can vanish while the device is being unplugged.
      const cls = await read(ctx, `${ik}.class`, `${base}/bInterfaceClass`, true);
      if (cls === null) continue;
      triples.push(interfaceTriple(cls, (await read(ctx, `${ik}.subclass`, `${base}/bInterfaceSubClass`, true)) ?? '00', (await read(ctx, `${ik}.protocol`, `${base}/bInterfaceProtocol`, true)) ?? '00'));
    }
    // Keyboards, mice and hubs are not media: only devices with a mass-storage interface are listed.
    if (!triples.some((t) => t.startsWith('08:'))) continue;
    const base = `${busDir}/${dev}`;
    const vendorId = await read(ctx, `${k}.idvendor`, `${base}/idVendor`);
    const productId = await read(ctx, `${k}.idproduct`, `${base}/idProduct`);
    if (!vendorId || !productId) throw new Unreadable(because('PARSE_FAILED', 'why.usb.noIds', { dir: base }));
    // serial, manufacturer, product are absent files when the device has no such string (drivers/usb/core/sysfs.c).
    const serial = await read(ctx, `${k}.serial`, `${base}/serial`, true);
    const manufacturer = await read(ctx, `${k}.manufacturer`, `${base}/manufacturer`, true);
    const product = await read(ctx, `${k}.product`, `${base}/product`, true);
    const bcdDevice = await read(ctx, `${k}.bcddevice`, `${base}/bcdDevice`, true);

    const disks: string[] = [];
    for (const i of ifaces) {
      disks.push(...(await blockDevicesUnder(ctx, `${busDir}/${i}`, `usb.${keyPart(i)}`)));
    }
    let sizeBytes: number | null = null;
    let readOnly: boolean | null = null;
    const mountPoints: string[] = [];
    for (const disk of disks) {
      const dk = `block.${keyPart(disk)}`;
      const dbase = `${p.sysfsRoot}/block/${disk}`;
      // sysfs size is in 512-byte sectors whatever the logical block size (Documentation/ABI/…/sysfs-block).
      const sectors = Number(await read(ctx, `${dk}.size`, `${dbase}/size`));
      if (Number.isFinite(sectors) && sectors > 0) sizeBytes = (sizeBytes ?? 0) + sectors * 512;
      const ro = (await read(ctx, `${dk}.ro`, `${dbase}/ro`)) === '1';
      readOnly = readOnly === null ? ro : readOnly && ro;
      const numbers = await deviceNumbers(ctx, p, disk);
      if (mounts === null) {
        const mi = await ctx.probes.readFile('mountinfo', p.mountinfoPath);
        if (!mi.ok) throw new Unreadable(probeWhy(mi));
        mounts = parseMountinfo(mi.stdout);
      }
      for (const m of mounts) if (numbers.includes(m.majMin) && !mountPoints.includes(m.mountPoint)) mountPoints.push(m.mountPoint);
    }
    const identity = { vendorId: vendorId.toLowerCase(), productId: productId.toLowerCase(), serial, manufacturer, product, bcdDevice, interfaceClasses: triples };
    found.push({
      fingerprint: fingerprint(identity),
      vendorId: identity.vendorId,
      productId: identity.productId,
      serial: normaliseSerial(serial),
      manufacturer,
      product,
      interfaceClasses: triples,
      storageWithHid: triples.some((t) => t.startsWith('03:')),
      sizeBytes,
      mountPoints,
      readOnly: disks.length ? readOnly : null,
      duplicateSerial: false,
      location: dev,
    });
  }
  for (const d of found) d.duplicateSerial = d.serial !== null && found.some((o) => o !== d && o.serial === d.serial);
  return found;
}

/** The SCSI disks below a mass-storage interface: `<iface>/hostN/targetN:0:0/N:0:0:L/block/sdX` (usb-storage and uas alike). */
async function blockDevicesUnder(ctx: CheckContext, ifaceDir: string, key: string): Promise<string[]> {
  const out: string[] = [];
  for (const host of (await list(ctx, `${key}.hosts`, ifaceDir, true)).filter((n) => /^host\d+$/.test(n))) {
    const hdir = `${ifaceDir}/${host}`;
    for (const target of (await list(ctx, `${key}.${host}`, hdir, true)).filter((n) => /^target\d+:\d+:\d+$/.test(n))) {
      const tdir = `${hdir}/${target}`;
      for (const lun of (await list(ctx, `${key}.${keyPart(target)}`, tdir, true)).filter((n) => /^\d+:\d+:\d+:\d+$/.test(n))) {
        out.push(...(await list(ctx, `${key}.${keyPart(lun)}.block`, `${tdir}/${lun}/block`, true)));
      }
    }
  }
  return out;
}

/** maj:min of a disk, its partitions and the device-mapper devices built on them (a LUKS stick is mounted from dm-N). */
async function deviceNumbers(ctx: CheckContext, p: Params, disk: string): Promise<string[]> {
  const dbase = `${p.sysfsRoot}/block/${disk}`;
  const dk = `block.${keyPart(disk)}`;
  const nums: string[] = [];
  const own = await read(ctx, `${dk}.dev`, `${dbase}/dev`);
  if (own) nums.push(own);
  const holderDirs = [{ dir: `${dbase}/holders`, key: `${dk}.holders` }];
  for (const part of (await list(ctx, `${dk}.list`, dbase)).filter((n) => n.startsWith(disk) && n !== disk)) {
    const n = await read(ctx, `${dk}.${keyPart(part)}.dev`, `${dbase}/${part}/dev`, true);
    if (n) nums.push(n);
    holderDirs.push({ dir: `${dbase}/${part}/holders`, key: `${dk}.${keyPart(part)}.holders` });
  }
  for (const h of holderDirs) {
    for (const dm of await list(ctx, h.key, h.dir, true)) {
      const n = await read(ctx, `block.${keyPart(dm)}.dev`, `${p.sysfsRoot}/block/${dm}/dev`, true);
      if (n) nums.push(n);
    }
  }
  return nums;
}

async function exportBlock(ctx: CheckContext, p: Params): Promise<{ blocked: boolean; mechanism: string | null } | { reason: Why }> {
  // USBGuard first: a running daemon whose policy keeps class 08 off.
  const guardConf = await ctx.probes.readFile('usbguard.daemon-conf', p.usbguardDaemonConfPath);
  if (guardConf.ok) {
    const conf = parseUsbguardDaemonConf(guardConf.stdout);
    const rules = await ctx.probes.readFile('usbguard.rules', conf.ruleFile ?? p.usbguardRulesPath);
    if (!rules.ok && rules.failure !== 'NOT_FOUND') return { reason: inPart('usbguard rules', probeWhy(rules)) };
    const procs = await listProcesses(ctx.probes, p.procRoot, p.findPath);
    if (!procs.ok) return { reason: procs.why };
    const running = procs.processes.some((pr) => pr.name === 'usbguard-daemon' || pr.name === 'usbguard-daemo');
    if (!running && procs.unread.length > 0) return { reason: because('ACCESS_DENIED', 'why.usb.usbguardUnknown', { count: procs.unread.length }) };
    if (running && usbguardBlocksStorage(rules.ok ? rules.stdout : '', conf.implicitTarget)) return { blocked: true, mechanism: 'usbguard: block with-interface 08:*:*' };
  } else if (guardConf.failure !== 'NOT_FOUND') return { reason: inPart('usbguard-daemon.conf', probeWhy(guardConf)) };

  const files: { name: string; text: string }[] = [];
  for (const [i, dir] of p.modprobeDirs.entries()) {
    const l = await ctx.probes.listDir(`modprobe.${i}.list`, dir);
    if (!l.ok) {
      if (l.failure === 'NOT_FOUND') continue;
      return { reason: inPart(dir, probeWhy(l)) };
    }
    for (const name of (safeNames(l.stdout) ?? []).filter((n) => n.endsWith('.conf'))) {
      const f = await ctx.probes.readFile(`modprobe.${i}.${keyPart(name)}`, `${dir}/${name}`);
      if (f.ok) files.push({ name: `${dir}/${name}`, text: f.stdout });
      else return { reason: inPart(`${dir}/${name}`, probeWhy(f)) };
    }
  }
  const blocks = parseModprobeBlocks(files);
  const mechanisms: string[] = [];
  for (const mod of ['usb_storage', 'uas']) {
    const b = blocks.find((x) => x.module === mod && x.how === 'install') ?? blocks.find((x) => x.module === mod);
    if (!b) return { blocked: false, mechanism: null };
    // A module already loaded (or built in) keeps working whatever modprobe.d says.
    const loaded = await ctx.probes.listDir(`module.${mod}`, `${p.sysfsRoot}/module/${mod}`);
    if (loaded.ok) return { blocked: false, mechanism: null };
    if (loaded.failure !== 'NOT_FOUND') return { reason: inPart(`${p.sysfsRoot}/module/${mod}`, probeWhy(loaded)) };
    mechanisms.push(`${b.how} ${mod} (${b.file})`);
  }
  return { blocked: true, mechanism: `modprobe.d: ${mechanisms.join(', ')}` };
}
