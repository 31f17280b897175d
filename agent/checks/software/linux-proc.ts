/**
 * Running processes and local users on Linux, read through the probe layer from /proc and
 * /etc/passwd. Shared by the software, antivirus and usb-media collectors.
 */
import { because, probeWhy, type Why } from '../why.js';
import type { Probes } from '../../probes/types.js';

/** One process as /proc shows it. */
export interface ProcEntry {
  pid: number;
  /** `Name:` of /proc/<pid>/status (the comm, at most 15 characters). */
  name: string;
  uid: number | null;
  ppid: number | null;
  /** Target of /proc/<pid>/exe; null when unreadable (other users' processes as non-root, pid 1 in some sandboxes). */
  exe: string | null;
}

/** A local account from /etc/passwd. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Parse /proc/<pid>/status: `Name:`, `PPid:` and the real uid (first number of `Uid:`). */
export function parseProcStatus(text: string): { name: string; uid: number | null; ppid: number | null } | null {
  let name: string | null = null;
  let uid: number | null = null;
  let ppid: number | null = null;
  for (const line of text.split('\n')) {
    const sep = line.indexOf(':');
    if (sep < 0) continue;
    const key = line.slice(0, sep);
    const value = line.slice(sep + 1).trim();
    if (key === 'Name') name = value;
    else if (key === 'Uid') uid = toInt(value.split(/\s+/)[0]);
    else if (key === 'PPid') ppid = toInt(value);
  }
  return name === null ? null : { name, uid, ppid };
}

/** Parse `find /proc -mindepth 2 -maxdepth 2 -name exe -printf '%h\t%l\n'`: pid → exe target (empty targets are unreadable links). */
export function parseExeList(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const pid = toInt(line.slice(0, tab).split('/').pop());
    const target = line.slice(tab + 1);
    if (pid !== null && target !== '') out.set(pid, target);
  }
  return out;
}

/** Parse /etc/passwd lines `name:x:uid:gid:gecos:home:shell`; malformed lines are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) continue;
    const uid = toInt(f[2]);
    const gid = toInt(f[3]);
    if (uid === null || gid === null || !f[0]) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return out;
}

/**
 * Ordinary (human) accounts: uid in [1000, 60000) — the Debian and RHEL UID_MIN/UID_MAX of
 * /etc/login.defs — with a login shell.
 */
export function humanUsers(entries: PasswdEntry[]): PasswdEntry[] {
  return entries.filter((e) => e.uid >= 1000 && e.uid < 60000 && !/(nologin|false)$/.test(e.shell));
}

/** `unread`: why the status of some listed processes could not be read (other than the process having exited). */
export type ProcessListing = { ok: true; processes: ProcEntry[]; unread: string[] } | { ok: false; reason: string; why: Why };

const failed = (why: Why): ProcessListing => ({ ok: false, reason: why.text, why });

/**
 * Every user-space process: /proc/<pid>/status for name, uid and parent, one `find` for all exe
 * links (the probe layer has no readlink). Kernel threads (kthreadd, pid 2, and its children)
 * are left out. A pid that exits between listing and reading is skipped; one whose status cannot be
 * read for another reason is named in `unread`, so the list is known to be incomplete.
 */
export async function listProcesses(probes: Probes, procRoot: string, findPath: string): Promise<ProcessListing> {
  const dir = await probes.listDir('proc.list', procRoot);
  if (!dir.ok) return failed(probeWhy(dir));
  let names: unknown;
  try {
    names = JSON.parse(dir.stdout);
  } catch {
    return failed(because('EXEC_FAILED', 'why.proc.listingNotJson', { dir: procRoot }));
  }
  if (!Array.isArray(names)) return failed(because('EXEC_FAILED', 'why.proc.listingNotJson', { dir: procRoot }));
  const pids = names.filter((n): n is string => typeof n === 'string' && /^\d+$/.test(n)).map(Number);
  // find exits 1 when a process vanished or a link was unreadable; its output is still complete for the rest.
  const exeOut = await probes.exec('proc.exe', findPath, [procRoot, '-mindepth', '2', '-maxdepth', '2', '-name', 'exe', '-printf', '%h\\t%l\\n'], { okExitCodes: [0, 1] });
  const exes = exeOut.ok ? parseExeList(exeOut.stdout) : new Map<number, string>();
  const processes: ProcEntry[] = [];
  const unread: string[] = [];
  for (const pid of pids) {
    const st = await probes.readFile(`proc.${pid}.status`, `${procRoot}/${pid}/status`);
    if (!st.ok) {
      // NOT_FOUND: the process exited after the listing. Anything else leaves a process unseen.
      if (st.failure !== 'NOT_FOUND') unread.push(`${pid}: ${st.failure}`);
      continue;
    }
    const parsed = parseProcStatus(st.stdout);
    if (!parsed || pid === 2 || parsed.ppid === 2) continue;
    processes.push({ pid, name: parsed.name, uid: parsed.uid, ppid: parsed.ppid, exe: exes.get(pid) ?? null });
  }
  if (processes.length === 0) return failed(because('EXEC_FAILED', 'why.proc.noneRead', { dir: procRoot }));
  return { ok: true, processes, unread };
}

function toInt(text: string | undefined): number | null {
  if (text === undefined || !/^\d+$/.test(text.trim())) return null;
  return Number(text.trim());
}
