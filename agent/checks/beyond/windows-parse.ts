/**
 * Parser of the `win.beyond` document (see windows-script.ts): firewall, BitLocker, W32Time.
 */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { BeyondFacts } from './facts.js';
import { partError } from '../software/windows-common.js';

const TimeEvent = z.object({ id: z.number().int(), at: z.string() }).nullable();

export const BeyondDocument = z.object({
  schema: z.literal('mamori.win.beyond/1'),
  firewall: z.array(z.object({ Name: z.string(), Enabled: z.number().int(), DefaultInboundAction: z.number().int(), DefaultOutboundAction: z.number().int().optional() })).nullable(),
  firewallService: z.object({ State: z.string(), StartMode: z.string() }).nullable(),
  bitlocker: z
    .object({
      systemDrive: z.string().nullable(),
      source: z.enum(['Win32_EncryptableVolume', 'Shell.Application']).nullable(),
      /** Win32_EncryptableVolume.ProtectionStatus; ConversionStatus and EncryptionMethod are outputs of GetConversionStatus / GetEncryptionMethod. */
      ProtectionStatus: z.number().int().nullable(),
      ConversionStatus: z.number().int().nullable(),
      EncryptionMethod: z.number().int().nullable(),
      shellValue: z.number().int().nullable(),
      wmiError: z.string().nullable(),
      /** CimException.NativeErrorCode (Microsoft.Management.Infrastructure.NativeErrorCode enum name); absent from older agents. */
      wmiErrorCode: z.string().nullable().optional(),
    })
    .nullable(),
  time: z
    .object({
      Type: z.string().nullable(),
      NtpServer: z.string().nullable(),
      /** TimeProviders\NtpClient\Enabled DWORD; absent from older agents. */
      NtpClientEnabled: z.number().int().nullable().optional(),
      serviceState: z.string().nullable(),
      serviceStartMode: z.string().nullable(),
      partOfDomain: z.boolean(),
      lastGoodEvent: TimeEvent,
      lastBadEvent: TimeEvent,
    })
    .nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type BeyondDocument = z.infer<typeof BeyondDocument>;

/** EncryptionMethod of Win32_EncryptableVolume.GetEncryptionMethod (learn.microsoft.com), named as Get-BitLockerVolume names them. */
const ENCRYPTION_METHODS: Record<number, string | null> = {
  0: null, 1: 'Aes128Diffuser', 2: 'Aes256Diffuser', 3: 'Aes128', 4: 'Aes256', 5: 'Hardware', 6: 'XtsAes128', 7: 'XtsAes256',
};

/**
 * GpoBoolean of MSFT_NetFirewallProfile: 1 true, 0 false, 2 NotConfigured — which in the
 * ActiveStore means no store set it and the Windows default (on) applies.
 */
function profileEnabled(value: number): boolean {
  return value !== 0;
}

/** Action enum: 4 Block, 2 Allow, 0 NotConfigured (unknown here). */
function inboundBlock(value: number): boolean | null {
  return value === 4 ? true : value === 2 ? false : null;
}

/** System disk encryption, or a reason when it cannot be decided. */
export function bitlockerState(bl: NonNullable<BeyondDocument['bitlocker']>): { encrypted: boolean; method: string | null } | string {
  if (bl.source === 'Win32_EncryptableVolume') {
    // ProtectionStatus 1 = on; 0 = off or suspended (clear key on disk); ConversionStatus 1 = fully encrypted.
    if (bl.ProtectionStatus === 2) return `BITLOCKER_LOCKED: ${bl.systemDrive ?? 'system drive'} reports ProtectionStatus 2 (unknown)`;
    const method = ENCRYPTION_METHODS[bl.EncryptionMethod ?? 0] ?? null;
    return { encrypted: bl.ProtectionStatus === 1 && bl.ConversionStatus === 1, method };
  }
  if (bl.source === 'Shell.Application') {
    // Undocumented values: only 1 (on) and 6 (on, locked) are encrypted, 2 is off; the rest
    // (encrypting, suspended, waiting for activation, empty) is not decidable (platform-probes.md §7.1).
    if (bl.shellValue === 1 || bl.shellValue === 6) return { encrypted: true, method: null };
    if (bl.shellValue === 2) return { encrypted: false, method: null };
    // No BitLocker WMI namespace: the BitLocker feature (which installs the provider and the driver)
    // is not installed — Windows Server without "BitLocker Drive Encryption". Nothing is BitLocker-encrypted.
    if (bl.wmiErrorCode === 'InvalidNamespace') return { encrypted: false, method: null };
    return `BITLOCKER_UNDECIDABLE: Win32_EncryptableVolume not readable (${bl.wmiError ?? 'no reason'}) and System.Volume.BitLockerProtection is ${String(bl.shellValue)}`;
  }
  return 'SCRIPT_ERROR: bitlocker: no source answered';
}

/** What `w32tm /query /source` names when Windows follows no time source. */
const LOCAL_CMOS_CLOCK = 'Local CMOS Clock';

/**
 * The clock is synchronised, or a reason when it cannot be decided without localised w32tm text.
 * `eventsError`: the Time-Service event query failed, so "no event" says nothing.
 */
export function timeState(t: NonNullable<BeyondDocument['time']>, eventsError?: string): { synchronized: boolean; source: string | null } | string {
  const type = (t.Type ?? '').trim().toUpperCase();
  const ntp = (t.NtpServer ?? '').split(/\s+/).map((s) => s.replace(/,0x[0-9a-f]+$/i, '')).filter((s) => s.length > 0);
  const source = type === 'NTP' ? (ntp.join(' ') || null) : type === 'NT5DS' ? 'domain hierarchy (NT5DS)' : type === 'ALLSYNC' ? `domain hierarchy + ${ntp.join(' ')}` : null;
  // Type NoSync, or the NTP client provider switched off (GPO "Enable Windows NTP Client" = Disabled):
  // Windows runs on the Local CMOS Clock. Both are registry facts, not text.
  if (type === 'NOSYNC' || type === '') return { synchronized: false, source: LOCAL_CMOS_CLOCK };
  // "If this value is 1, the provider is started. Otherwise, the provider is not started" (Registering a Time Provider).
  if (t.NtpClientEnabled !== null && t.NtpClientEnabled !== undefined && t.NtpClientEnabled !== 1) return { synchronized: false, source: LOCAL_CMOS_CLOCK };
  if ((t.serviceStartMode ?? '').toLowerCase() === 'disabled') return { synchronized: false, source };
  if (type === 'NT5DS' && !t.partOfDomain) return { synchronized: false, source };
  if (type === 'NTP' && ntp.length === 0) return { synchronized: false, source: null };
  const good = t.lastGoodEvent ? Date.parse(t.lastGoodEvent.at) : Number.NEGATIVE_INFINITY;
  const bad = t.lastBadEvent ? Date.parse(t.lastBadEvent.at) : Number.NEGATIVE_INFINITY;
  if (t.lastBadEvent && bad > good) return { synchronized: false, source };
  if (t.lastGoodEvent) return { synchronized: true, source };
  if (eventsError) return `TIME_SYNC_UNOBSERVABLE: the Time-Service events could not be read (${eventsError}) and w32tm output is localised and not read`;
  // No event says the clock ever took time from a source. A running service is no proof (it runs on
  // the Local CMOS Clock until a source answers); a stopped one may be trigger-started between
  // syncs on workgroup PCs. Only localised `w32tm /query /status` could tell: undecided.
  const state = (t.serviceState ?? '').toLowerCase() === 'running' ? 'W32Time is running' : 'W32Time is not running';
  return `TIME_SYNC_UNOBSERVABLE: ${state} and no Time-Service event records a synchronisation (w32tm output is localised and not read)`;
}

export function beyondFacts(doc: BeyondDocument): CheckOutput<BeyondFacts> {
  const facts: Partial<BeyondFacts> = {};
  const unknownFacts: Record<string, string> = {};

  const fwError = partError(doc.errors, 'firewall');
  if (fwError || !doc.firewall || doc.firewall.length === 0) {
    const reason = fwError ?? 'FIREWALL_UNREADABLE: Get-NetFirewallProfile returned no profile';
    unknownFacts.firewallEnabled = reason;
    unknownFacts.firewallProfiles = reason;
  } else {
    const profiles = doc.firewall.map((p) => ({ name: p.Name, enabled: profileEnabled(p.Enabled), defaultInboundBlock: inboundBlock(p.DefaultInboundAction) }));
    facts.firewallProfiles = profiles;
    facts.firewallFrontend = 'windows';
    // A disabled profile is a fact whatever the service; "all enabled" needs the service running too
    // (Win32_Service.State is the non-localised "Running"/"Stopped"…). A failed or empty service
    // query leaves that undecided.
    const serviceError = partError(doc.errors, 'firewall-service') ?? (doc.firewallService === null ? 'FIREWALL_SERVICE_UNREADABLE: Win32_Service returned no MpsSvc' : undefined);
    if (!profiles.every((p) => p.enabled)) facts.firewallEnabled = false;
    else if (doc.firewallService && doc.firewallService.State.toLowerCase() !== 'running') facts.firewallEnabled = false;
    else if (serviceError) unknownFacts.firewallEnabled = `every profile is enabled but the Windows Defender Firewall service (MpsSvc) state is unknown: ${serviceError}`;
    else facts.firewallEnabled = true;
  }

  const blError = partError(doc.errors, 'bitlocker');
  const bl = blError || !doc.bitlocker ? (blError ?? 'SCRIPT_ERROR: bitlocker: not read') : bitlockerState(doc.bitlocker);
  if (typeof bl === 'string') {
    unknownFacts.systemDiskEncrypted = bl;
    unknownFacts.encryptionMethod = bl;
  } else {
    facts.systemDiskEncrypted = bl.encrypted;
    facts.encryptionMethod = bl.method;
  }

  const timeError = partError(doc.errors, 'time');
  const time = timeError || !doc.time ? (timeError ?? 'SCRIPT_ERROR: time: not read') : timeState(doc.time, partError(doc.errors, 'time-events'));
  if (typeof time === 'string') {
    unknownFacts.clockSynchronized = time;
    unknownFacts.timeSource = time;
  } else {
    facts.clockSynchronized = time.synchronized;
    facts.timeSource = time.source;
  }
  return { status: 'ok', facts, unknownFacts };
}
