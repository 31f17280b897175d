/** Facts of the beyond check: host firewall, system disk encryption, clock synchronisation. */
import { z } from 'zod';

export const FirewallProfile = z.object({ name: z.string(), enabled: z.boolean(), defaultInboundBlock: z.boolean().nullable() });

export const BeyondFacts = z.object({
  firewallEnabled: z.boolean().describe('A host firewall filters inbound traffic (every Windows profile enabled; ufw/firewalld active or an nftables input chain with policy drop)'),
  firewallFrontend: z.string().nullable().describe('ufw, firewalld, nftables, iptables, windows'),
  firewallProfiles: z.array(FirewallProfile),
  systemDiskEncrypted: z.boolean().describe('The system volume is encrypted and protection is on (LUKS under /, BitLocker on C: with protection on)'),
  encryptionMethod: z.string().nullable().describe('luks1, luks2, XtsAes256 …'),
  clockSynchronized: z.boolean().describe('The clock is disciplined by NTP now (NTPSynchronized / W32Time synchronised)'),
  timeSource: z.string().nullable(),
});
export type BeyondFacts = z.infer<typeof BeyondFacts>;
