/**
 * Linux collector of the wireless check, through NetworkManager's terse output (nmcli(1) `-t`:
 * fields separated by ':', a ':' or '\' inside a value escaped with '\'; with LC_ALL=C the state words
 * are not translated):
 * - `nmcli -t -f DEVICE,TYPE,STATE device` — devices of type `wifi` (not `wifi-p2p`);
 * - `nmcli -t -f NAME,UUID,TYPE,DEVICE connection show --active` — active `802-11-wireless` connections;
 * - `nmcli -t -f 802-11-wireless.ssid,802-11-wireless-security.key-mgmt connection show UUID` — SSID and
 *   key management (nm-settings-nmcli(5): none, ieee8021x, wpa-psk, sae, owe, wpa-eap, wpa-eap-suite-b-192;
 *   empty when the connection has no security section, i.e. an open network).
 * Without nmcli, /sys/class/net/<if>/wireless tells whether the PC has Wi-Fi at all: with none, there is
 * nothing to report; with some, the adapters' state is unknown.
 */
import { allOf, because, failedTo, setUnknown, type Why } from '../why.js';
import { unknownOutput } from '../types.js';
import { keyPart } from '../../probes/types.js';
import type { CheckContext, CheckOutput, Collector } from '../types.js';
import type { WifiConnection, WirelessFacts } from './facts.js';

const ENTERPRISE = new Set(['wpa-eap', 'wpa-eap-suite-b-192']);

/** One terse line → fields (a ':' preceded by '\' belongs to the value). */
export function terseFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) cur += line[++i];
    else if (c === ':') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export function terseRows(text: string, fields: number): string[][] | null {
  const rows = text.split('\n').filter((l) => l.trim() !== '').map(terseFields);
  return rows.every((r) => r.length === fields) ? rows : null;
}

/** `-f a,b connection show X` in terse mode prints `a:value` lines. */
export function terseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).replace(/\\(.)/g, '$1'));
  }
  return out;
}

async function withoutNmcli(ctx: CheckContext, sysClassNet: string, nmcliWhy: Why): Promise<CheckOutput<WirelessFacts>> {
  const ls = await ctx.probes.listDir('net.interfaces', sysClassNet);
  if (!ls.ok) return unknownOutput(allOf([nmcliWhy, failedTo(ls, 'why.fileUnread', { file: sysClassNet })]));
  let listed: unknown;
  try {
    listed = JSON.parse(ls.stdout);
  } catch {
    listed = null;
  }
  if (!Array.isArray(listed)) return unknownOutput(because('PARSE_FAILED', 'why.listing', { dir: sysClassNet }));
  const names = listed.filter((n): n is string => typeof n === 'string');
  const wireless: string[] = [];
  for (const n of names) {
    const w = await ctx.probes.listDir(`net.${keyPart(n)}.wireless`, `${sysClassNet}/${n}/wireless`);
    if (w.ok) wireless.push(n);
    else if (w.failure !== 'NOT_FOUND') return unknownOutput(failedTo(w, 'why.wifi.isWireless', { adapter: n }));
  }
  if (wireless.length === 0) return { status: 'ok', facts: { wifiAdapters: [], wifiConnections: [] }, unknownFacts: {} };
  return unknownOutput(allOf([nmcliWhy, because('NOT_READ', 'why.wifi.adaptersUnread', { adapters: wireless.join(', ') })]));
}

export const collect: Collector<WirelessFacts> = async (ctx) => {
  const p = { nmcliPath: '/usr/bin/nmcli', sysClassNet: '/sys/class/net', ...ctx.params } as { nmcliPath: string; sysClassNet: string };
  const devices = await ctx.probes.exec('nmcli.devices', p.nmcliPath, ['-t', '-f', 'DEVICE,TYPE,STATE', 'device']);
  if (!devices.ok) return withoutNmcli(ctx, p.sysClassNet, failedTo(devices, 'why.wifi.nmDevices', {}));
  const rows = terseRows(devices.stdout, 3);
  if (!rows) return unknownOutput(because('PARSE_FAILED', 'why.wifi.terseFields', { command: 'nmcli -t device', fields: 3, output: { q: devices.stdout.slice(0, 80) } }));
  const out: CheckOutput<WirelessFacts> = { status: 'ok', facts: {}, unknownFacts: {} };
  out.facts.wifiAdapters = rows.filter((r) => r[1] === 'wifi').map(([name, , state]) => ({ name: name!, enabled: !/^(unavailable|unmanaged)/.test(state!), connected: /^connected/.test(state!) }));
  if (!out.facts.wifiAdapters.some((a) => a.connected)) {
    out.facts.wifiConnections = [];
    return out;
  }
  const active = await ctx.probes.exec('nmcli.active-connections', p.nmcliPath, ['-t', '-f', 'NAME,UUID,TYPE,DEVICE', 'connection', 'show', '--active']);
  const conns = active.ok ? terseRows(active.stdout, 4) : null;
  if (!conns) {
    out.facts.wifiConnections = [];
    setUnknown(out, 'wifiConnections', active.ok ? because('PARSE_FAILED', 'why.wifi.terseFields', { command: 'nmcli -t connection show --active', fields: 4, output: { q: active.stdout.slice(0, 80) } }) : failedTo(active, 'why.wifi.activeUnread', {}));
    return out;
  }
  const found: WifiConnection[] = [];
  const problems: Why[] = [];
  for (const [name, uuid] of conns.filter((r) => r[2] === '802-11-wireless')) {
    const show = await ctx.probes.exec(`nmcli.connection.${keyPart(uuid!)}`, p.nmcliPath, ['-t', '-f', '802-11-wireless.ssid,802-11-wireless-security.key-mgmt', 'connection', 'show', uuid!]);
    if (!show.ok) {
      problems.push(failedTo(show, 'why.wifi.connectionUnread', { name: name! }));
      continue;
    }
    const props = terseProperties(show.stdout);
    const ssid = props.get('802-11-wireless.ssid');
    if (ssid === undefined) {
      problems.push(because('PARSE_FAILED', 'why.wifi.noSsid', { name: name! }));
      continue;
    }
    const keyMgmt = props.get('802-11-wireless-security.key-mgmt') || 'none';
    found.push({ ssid, security: keyMgmt, enterprise: ENTERPRISE.has(keyMgmt) });
  }
  out.facts.wifiConnections = found;
  if (problems.length > 0) setUnknown(out, 'wifiConnections', allOf(problems));
  return out;
};
