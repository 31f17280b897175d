/** Facts of the services check: services that run or start by themselves, Windows optional features, Linux listening sockets. */
import { z } from 'zod';

export const Service = z.object({
  name: z.string().describe('Windows service key name (e.g. "RemoteRegistry"; not the localised display name); Linux systemd unit (e.g. "telnet.socket")'),
  state: z.string().describe('Windows Win32_Service State ("Running", "Stopped"); Linux the unit\'s sub-state ("running", "listening", "exited")'),
  startMode: z.string().nullable().describe('Windows Win32_Service StartMode ("Auto", "Manual", "Disabled"); null on Linux'),
});
export type Service = z.infer<typeof Service>;

export const Listener = z.object({
  proto: z.string().describe('"tcp" or "udp"'),
  address: z.string().describe('Local address as ss prints it, e.g. "0.0.0.0", "[::]", "127.0.0.53%lo", "*"'),
  port: z.number().int(),
  process: z.string().describe('Name of the process holding the socket (the first of ss\'s users:(…))'),
  loopbackOnly: z.boolean().describe('Bound to a loopback address only (127.0.0.0/8, ::1, or the lo interface), so no other host can reach it'),
});
export type Listener = z.infer<typeof Listener>;

export const ServicesFacts = z.object({
  runningServices: z.array(Service).describe('Windows: services running or set to start automatically; Linux: active systemd services and sockets'),
  enabledFeatures: z.array(z.object({ name: z.string().describe('FeatureName, e.g. "SMB1Protocol", "TelnetClient"') })).describe('Windows optional features in state Enabled (Get-WindowsOptionalFeature -Online); not read on Linux'),
  listeners: z.array(Listener).describe('Linux: listening TCP and bound UDP sockets (ss -ltnup) with their process; not read on Windows'),
});
export type ServicesFacts = z.infer<typeof ServicesFacts>;
