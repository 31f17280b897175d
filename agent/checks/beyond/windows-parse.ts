/**
 * Parser of the `win.beyond` document (see windows-script.ts): firewall, BitLocker, W32Time.
 */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { BeyondFacts } from './facts.js';
import { partError, partWhy } from '../software/windows-common.js';
import { causeOf, msg } from '../../../src/shared/i18n/index.js';
import { because, setUnknown, type Why } from '../why.js';

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
export function bitlockerState(bl: NonNullable<BeyondDocument['bitlocker']>): { encrypted: boolean; method: string | null } | Why {
  if (bl.source === 'Win32_EncryptableVolume') {
    // ProtectionStatus 1 = on; 0 = off or suspended (clear key on disk); ConversionStatus 1 = fully encrypted.
    if (bl.ProtectionStatus === 2) return because('BITLOCKER_LOCKED', 'why.beyond.bitlockerLocked', { drive: bl.systemDrive ?? msg('why.beyond.systemDrive') });
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
    return because('BITLOCKER_UNDECIDABLE', 'why.beyond.bitlockerUndecidable', { error: bl.wmiError ?? '-', value: String(bl.shellValue) });
  }
  return because('SCRIPT_ERROR', 'why.beyond.bitlockerNoSource', {});
}

/** What `w32tm /query /source` names when Windows follows no time source. */
const LOCAL_CMOS_CLOCK = 'Local CMOS Clock';

/**
 * The clock is synchronised, or a reason when it cannot be decided without localised w32tm text.
 * `eventsError`: the Time-Service event query failed, so "no event" says nothing.
 */
export function timeState(t: NonNullable<BeyondDocument['time']>, eventsError?: string): { synchronized: boolean; source: string | null } | Why {
  const type = (t.Type ?? '').trim().toUpperCase();
  const ntp = (t.NtpServer ?? '').split(/\s+/).map((s) => s.replace(/,0x[0-9a-f]+$/i, '')).filter((s) => s.length > 0);
  // The source by name: the NTP servers, or w32tm's own name of the domain hierarchy (NT5DS; AllSync = NT5DS and NTP), never prose.
  const source = type === 'NTP' ? (ntp.join(' ') || null) : type === 'NT5DS' ? 'NT5DS' : type === 'ALLSYNC' ? `NT5DS ${ntp.join(' ')}`.trim() : null;
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
  if (eventsError) return because('TIME_SYNC_UNOBSERVABLE', 'why.beyond.timeEventsUnread', { error: causeOf(eventsError) });
  // No event says the clock ever took time from a source. A running service is no proof (it runs on
  // the Local CMOS Clock until a source answers); a stopped one may be trigger-started between
  // syncs on workgroup PCs. Only localised `w32tm /query /status` could tell: undecided.
  const running = (t.serviceState ?? '').toLowerCase() === 'running';
  return because('TIME_SYNC_UNOBSERVABLE', running ? 'why.beyond.timeNoEventRunning' : 'why.beyond.timeNoEventStopped', {});
}

export function beyondFacts(doc: BeyondDocument): CheckOutput<BeyondFacts> {
  const facts: Partial<BeyondFacts> = {};
  const out: CheckOutput<BeyondFacts> = { status: 'ok', facts, unknownFacts: {} };

  const fwError = partWhy(doc.errors, 'firewall');
  if (fwError || !doc.firewall || doc.firewall.length === 0) {
    setUnknown(out, ['firewallEnabled', 'firewallProfiles'], fwError ?? because('FIREWALL_UNREADABLE', 'why.beyond.noFirewallProfile', {}));
  } else {
    const profiles = doc.firewall.map((p) => ({ name: p.Name, enabled: profileEnabled(p.Enabled), defaultInboundBlock: inboundBlock(p.DefaultInboundAction) }));
    facts.firewallProfiles = profiles;
    facts.firewallFrontend = 'windows';
    // A disabled profile is a fact whatever the service; "all enabled" needs the service running too
    // (Win32_Service.State is the non-localised "Running"/"Stopped"…). A failed or empty service
    // query leaves that undecided.
    const serviceError = partWhy(doc.errors, 'firewall-service') ?? (doc.firewallService === null ? because('FIREWALL_SERVICE_UNREADABLE', 'why.beyond.noMpsSvc', {}) : undefined);
    if (!profiles.every((p) => p.enabled)) facts.firewallEnabled = false;
    else if (doc.firewallService && doc.firewallService.State.toLowerCase() !== 'running') facts.firewallEnabled = false;
    else if (serviceError) setUnknown(out, 'firewallEnabled', because('FIREWALL_SERVICE_UNREADABLE', 'why.beyond.mpsSvcUnknown', { cause: serviceError.msg }));
    else facts.firewallEnabled = true;
  }

  const blError = partWhy(doc.errors, 'bitlocker');
  const bl = blError || !doc.bitlocker ? (blError ?? because('SCRIPT_ERROR', 'why.beyond.notRead', { part: 'bitlocker' })) : bitlockerState(doc.bitlocker);
  if ('msg' in bl) {
    setUnknown(out, ['systemDiskEncrypted', 'encryptionMethod'], bl);
  } else {
    facts.systemDiskEncrypted = bl.encrypted;
    facts.encryptionMethod = bl.method;
  }

  const timeError = partWhy(doc.errors, 'time');
  const time = timeError || !doc.time ? (timeError ?? because('SCRIPT_ERROR', 'why.beyond.notRead', { part: 'time' })) : timeState(doc.time, partError(doc.errors, 'time-events'));
  if ('msg' in time) {
    setUnknown(out, ['clockSynchronized', 'timeSource'], time);
  } else {
    facts.clockSynchronized = time.synchronized;
    facts.timeSource = time.source;
  }
  return out;
}
