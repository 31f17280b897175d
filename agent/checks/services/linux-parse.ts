/** Parsers of the services check on Linux: `systemctl list-units` and `ss -ltnup`, read by column structure. */
import type { Listener, Service } from './facts.js';

/**
 * `systemctl list-units --type=service,socket --state=active --no-legend --plain`: one unit a line,
 * `UNIT LOAD ACTIVE SUB DESCRIPTION…` (systemctl(1)); units not found on disk may carry a leading
 * "●", which --plain drops on recent systemd but older ones still print.
 */
export function parseUnits(text: string): Service[] {
  const out: Service[] = [];
  for (const raw of text.split('\n')) {
    const f = raw.replace(/^\s*[●*]\s*/, '').trim().split(/\s+/);
    if (f.length < 4 || !/\.(service|socket)$/.test(f[0]!)) continue;
    out.push({ name: f[0]!, state: f[3]!, startMode: null });
  }
  return out;
}

/** `127.0.0.53%lo:53`, `[::]:22`, `*:5353`, `[fe80::1%eth0]:546` → address and port (the port is after the last colon). */
export function splitAddress(local: string): { address: string; port: number } | null {
  const i = local.lastIndexOf(':');
  if (i <= 0) return null;
  const port = Number(local.slice(i + 1));
  return Number.isInteger(port) ? { address: local.slice(0, i), port } : null;
}

export function isLoopback(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '');
  return /%lo$/.test(a) || /^127\./.test(a) || a === '::1' || a === '::ffff:127.0.0.1';
}

/**
 * `ss -ltnup` (ss(8)): `Netid State Recv-Q Send-Q Local-Address:Port Peer-Address:Port Process`, the
 * header first (`-H` would drop it but older iproute2 lacks the option). The process column is
 * `users:(("name",pid=N,fd=N),…)` and empty for sockets of other users when ss does not run as root.
 * Returns the listeners with a process, and the sockets whose process could not be seen.
 */
export function parseSs(text: string): { listeners: Listener[]; unnamed: string[] } | null {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length > 0 && /^Netid\s/.test(lines[0]!)) lines.shift();
  const listeners: Listener[] = [];
  const unnamed: string[] = [];
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^(tcp|udp)$/.test(f[0]!)) return null;
    const local = splitAddress(f[4]!);
    if (!local) return null;
    const proc = /users:\(\("((?:[^"\\]|\\.)*)"/.exec(f.slice(6).join(' '));
    if (!proc) {
      unnamed.push(`${local.address}:${local.port}/${f[0]}`);
      continue;
    }
    listeners.push({ proto: f[0]!, address: local.address, port: local.port, process: proc[1]!, loopbackOnly: isLoopback(local.address) });
  }
  return { listeners, unnamed };
}
