/** Parser of the `win.wireless` document (see windows-script.ts). */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { WifiConnection, WirelessFacts } from './facts.js';
import { partWhy } from '../software/windows-common.js';
import { because, setUnknown } from '../why.js';
import { unknownOutput } from '../types.js';

export const WirelessDocument = z.object({
  schema: z.literal('mamori.win.wireless/1'),
  adapters: z.array(z.object({ Name: z.string(), InterfaceIndex: z.number().int(), State: z.number().int(), InterfaceAdminStatus: z.number().int(), MediaConnectState: z.number().int() })).nullable(),
  connectedProfiles: z.array(z.string()).nullable(),
  wlanProfiles: z.array(z.object({ name: z.string(), ssid: z.string(), authentication: z.string() })).nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type WirelessDocument = z.infer<typeof WirelessDocument>;

/** WLAN profile <authentication> values of 802.1X (WPA2/WPA3-Enterprise) in the WLAN profile schema (authEncryption element). */
const ENTERPRISE = new Set(['wpa2', 'wpa3', 'wpa3ent', 'wpa3ent192']);
/** MSFT_NetAdapter State 3 = Disabled; InterfaceAdminStatus 1 = Up; MediaConnectState 1 = Connected. */
const DISABLED = 3;
const UP = 1;
const CONNECTED = 1;

export function wirelessFacts(doc: WirelessDocument): CheckOutput<WirelessFacts> {
  const out: CheckOutput<WirelessFacts> = { status: 'ok', facts: {}, unknownFacts: {} };
  if (!doc.adapters) {
    out.status = 'unknown';
    return unknownOutput(partWhy(doc.errors, 'adapters') ?? because('SCRIPT_ERROR', 'why.wifi.noAdapters', {}));
  }
  out.facts.wifiAdapters = doc.adapters.map((a) => ({ name: a.Name, enabled: a.State !== DISABLED && a.InterfaceAdminStatus === UP, connected: a.MediaConnectState === CONNECTED }));
  if (!out.facts.wifiAdapters.some((a) => a.connected)) {
    out.facts.wifiConnections = [];
    return out;
  }
  const problem = partWhy(doc.errors, 'connection-profiles') ?? partWhy(doc.errors, 'wlan-profiles');
  if (problem || !doc.connectedProfiles || !doc.wlanProfiles) {
    out.facts.wifiConnections = [];
    setUnknown(out, 'wifiConnections', problem ?? because('SCRIPT_ERROR', 'why.wifi.noConnected', {}));
    return out;
  }
  const connections: WifiConnection[] = [];
  const unmatched: string[] = [];
  for (const name of doc.connectedProfiles) {
    // The connection profile's Name is the network name; Windows appends " 2", " 3" … to repeated names.
    const p = doc.wlanProfiles.find((w) => w.ssid === name || w.name === name) ?? doc.wlanProfiles.find((w) => name.replace(/ \d+$/, '') === w.ssid);
    if (!p) unmatched.push(name);
    else connections.push({ ssid: p.ssid, security: p.authentication, enterprise: ENTERPRISE.has(p.authentication.toLowerCase()) });
  }
  out.facts.wifiConnections = connections;
  if (unmatched.length > 0) setUnknown(out, 'wifiConnections', because('NOT_FOUND', 'why.wifi.noProfile', { networks: unmatched.join(', ') }));
  return out;
}
