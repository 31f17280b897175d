/**
 * Shared pieces of the Windows collectors: the PowerShell prelude every check script starts
 * with, and the reader that turns a probe outcome into validated JSON (or a reason to report
 * the facts as unknown).
 *
 * Why the scripts look the way they do (platform-probes.md §0.1):
 * - Windows PowerShell 5.1 unwraps one-element arrays in pipelines (PowerShell/PowerShell#11857),
 *   so every array is built with @() and the document is serialised with
 *   `ConvertTo-Json -InputObject` (never piped).
 * - DateTime serialises as "\/Date(…)\/" in 5.1, so every date is emitted explicitly, by what
 *   its source is: a DateTime of Kind Local (CIM datetimes, event TimeCreated, Get-Date) with
 *   `ConvertTo-MamoriIso` (`.ToUniversalTime().ToString('o')`); a COM DATE (Windows Update
 *   Agent) arrives with Kind Unspecified, which ToUniversalTime() would take as local time, so
 *   it is printed as its wall-clock text by `ConvertTo-MamoriWallClock` and the parser says
 *   which zone it is in, citing the documentation (`comDateUtc`).
 * - The default depth of 2 truncates nested objects: always -Depth 6.
 * - Output goes through [Console]::Out with a UTF-8 encoding without BOM, so Japanese
 *   DisplayNames, user names and volume labels arrive intact whatever the console code page
 *   (932 on Japanese Windows).
 * - Scripts read registry values, CIM/WMI properties and API results only, never localised
 *   text, so Japanese Windows yields the same facts as English Windows.
 * - Scripts contain no blank lines and no here-strings: the host feeds them to
 *   `powershell.exe -Command -`, where a blank line ends a multi-line statement
 *   (see agent/probes/powershell-host.ts).
 */
import { because, probeWhy, said, type Why } from '../why.js';
import type { z } from 'zod';
import type { ProbeOutcome } from '../../probes/types.js';

/**
 * PowerShell prelude of every check script: strict errors, UTF-8 output, an error list the
 * script fills per part (so one failing part makes only its facts unknown), helpers to read
 * registry values and to format dates, and the one writer of the JSON document.
 */
export const PS_PRELUDE = [
  "$ErrorActionPreference = 'Stop'",
  "$ProgressPreference = 'SilentlyContinue'",
  '[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false)',
  '$script:mamoriErrors = @()',
  'function Add-MamoriError([string]$Part, $Err) {',
  '  $message = if ($Err -is [System.Management.Automation.ErrorRecord]) { $Err.Exception.Message } else { [string]$Err }',
  '  $script:mamoriErrors += ,([ordered]@{ part = $Part; message = [string]$message })',
  '}',
  'function ConvertTo-MamoriIso($Value) {',
  '  if ($null -eq $Value) { return $null }',
  '  return ([datetime]$Value).ToUniversalTime().ToString(\'o\')',
  '}',
  'function ConvertTo-MamoriWallClock($Value) {',
  '  if ($null -eq $Value) { return $null }',
  "  return ([datetime]$Value).ToString('yyyy-MM-ddTHH:mm:ss.fffffff', [System.Globalization.CultureInfo]::InvariantCulture)",
  '}',
  '# Registry::HKEY_ paths avoid the HKLM:/HKU: drives (HKU: does not exist by default).',
  '# An absent key (ItemNotFoundException) or value (PSArgumentException) is null; any other',
  '# error (access denied, a damaged hive) propagates, so it is never mistaken for "not set".',
  'function Get-MamoriRegValue([string]$Path, [string]$Name) {',
  "  try { $item = Get-ItemProperty -LiteralPath ('Registry::' + $Path) -Name $Name -ErrorAction Stop }",
  '  catch [System.Management.Automation.ItemNotFoundException] { return $null }',
  '  catch [System.Management.Automation.PSArgumentException] { return $null }',
  '  return $item.$Name',
  '}',
  'function Write-MamoriJson($Document) {',
  "  $Document['errors'] = @($script:mamoriErrors)",
  '  [Console]::Out.WriteLine((ConvertTo-Json -InputObject $Document -Depth 6 -Compress))',
  '  [Console]::Out.Flush()',
  '}',
].join('\n');

/**
 * PowerShell function listing the loaded user hives HKU\<SID> of every SID authority — local
 * and domain accounts (S-1-5-21-…), Microsoft Entra ID accounts (S-1-12-1-…) and any other —
 * with the account name: SID → NTAccount (works for Entra ID accounts that have signed in:
 * "AzureAD\<name>"), else the leaf of ProfileList\<SID>\ProfileImagePath. Not listed: the
 * `<SID>_Classes` hives (the same user's HKCU\Software\Classes) and `.DEFAULT`; service
 * accounts are told apart by the parser (SERVICE_SID). Win32_UserAccount is not used because
 * on a domain member it enumerates the whole domain.
 */
export const PS_LOADED_USERS = [
  'function Get-MamoriLoadedUsers {',
  '  $users = @()',
  "  foreach ($hive in @(Get-ChildItem -LiteralPath 'Registry::HKEY_USERS')) {",
  '    $sid = [string]$hive.PSChildName',
  "    if ($sid -notmatch '^S-1-[0-9]+(-[0-9]+)+$') { continue }",
  "    $profilePath = Get-MamoriRegValue ('HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\' + $sid) 'ProfileImagePath'",
  '    $name = $null',
  '    try { $name = (New-Object System.Security.Principal.SecurityIdentifier($sid)).Translate([System.Security.Principal.NTAccount]).Value } catch { $name = $null }',
  '    if (-not $name -and $profilePath) { $name = Split-Path -Leaf $profilePath }',
  '    $users += ,([ordered]@{ sid = $sid; name = $name; profilePath = $profilePath })',
  '  }',
  '  return ,$users',
  '}',
].join('\n');

/**
 * PowerShell function listing the interactive logon sessions with their account: Win32_LogonSession
 * of LogonType 2 Interactive, 10 RemoteInteractive, 11 CachedInteractive, 12
 * CachedRemoteInteractive (learn.microsoft.com/windows/win32/cimwin32prov/win32-logonsession),
 * joined to the account through Win32_LoggedOnUser (Antecedent Win32_Account Domain/Name,
 * Dependent Win32_LogonSession LogonId; learn.microsoft.com/windows/win32/cimwin32prov/win32-loggedonuser).
 */
export const PS_LOGON_SESSIONS = [
  'function Get-MamoriLogonSessions {',
  '  $types = @{}',
  "  foreach ($s in @(Get-CimInstance -ClassName Win32_LogonSession -Filter 'LogonType = 2 OR LogonType = 10 OR LogonType = 11 OR LogonType = 12')) { $types[[string]$s.LogonId] = [int]$s.LogonType }",
  '  $sessions = @()',
  '  foreach ($l in @(Get-CimInstance -ClassName Win32_LoggedOnUser)) {',
  '    $id = [string]$l.Dependent.LogonId',
  '    if (-not $types.ContainsKey($id)) { continue }',
  '    $sessions += ,([ordered]@{ logonId = $id; logonType = $types[$id]; domain = [string]$l.Antecedent.Domain; name = [string]$l.Antecedent.Name })',
  '  }',
  '  return ,$sessions',
  '}',
].join('\n');

/**
 * Well-known SIDs of service and system accounts, never a person at a desktop: LocalSystem,
 * LocalService, NetworkService (S-1-5-18/19/20), NT SERVICE\… (S-1-5-80-…), IIS AppPool (S-1-5-82-…),
 * virtual machines (S-1-5-83-…), Window Manager / DWM (S-1-5-90-…), font driver host / UMFD
 * (S-1-5-96-…) ("Well-known SIDs", learn.microsoft.com/windows-server/identity/ad-ds/manage/understand-security-identifiers;
 * [MS-DTYP] 2.4.2.4).
 */
export const SERVICE_SID = /^S-1-5-(18|19|20)$|^S-1-5-(80|82|83|90|96)-/i;

/** An interactive logon session's account (Get-MamoriLogonSessions). */
export interface LogonSessionAccount {
  logonType: number;
  domain: string | null;
  name: string | null;
}

/**
 * The SIDs of the loaded hives that belong to someone signed in interactively, whatever the
 * SID authority: not a service account (SERVICE_SID), and the owner of an explorer.exe or the
 * account of an interactive logon session (matched by DOMAIN\name). Null when neither source
 * could be read (the caller then keeps every non-service hive).
 */
export function interactiveSids(hives: readonly { sid: string; name: string | null }[], explorerSids: readonly string[] | null, sessions: readonly LogonSessionAccount[] | null): Set<string> | null {
  if (explorerSids === null && sessions === null) return null;
  const explorer = new Set((explorerSids ?? []).map((s) => s.toUpperCase()));
  const accounts = new Set((sessions ?? []).filter((s) => s.name).map((s) => `${s.domain ?? ''}\\${s.name}`.toLowerCase()));
  const out = new Set<string>();
  for (const h of hives) {
    if (SERVICE_SID.test(h.sid)) continue;
    if (explorer.has(h.sid.toUpperCase()) || (h.name !== null && accounts.has(h.name.toLowerCase()))) out.add(h.sid);
  }
  return out;
}

/** Result of reading a check script's JSON document. */
export type PsJsonResult<T> = { ok: true; data: T } | { ok: false; reason: string; why: Why };

const unreadable = <T>(why: Why): PsJsonResult<T> => ({ ok: false, reason: why.text, why });

/**
 * Turn a PowerShell probe outcome into validated data. A failed probe, empty or truncated
 * output, a script that reported a fatal error, or a document of another shape all give a
 * reason (the check reports unknown), never an exception and never defaults.
 */
export function readPowerShellJson<T>(key: string, outcome: ProbeOutcome, schema: z.ZodType<T>): PsJsonResult<T> {
  if (!outcome.ok) return unreadable(probeWhy(outcome));
  // Windows PowerShell may put a BOM in front when the output encoding was switched.
  const text = outcome.stdout.replace(/^\uFEFF/, '').trim();
  if (text === '') return unreadable(because('EMPTY_OUTPUT', 'why.ps.empty', { script: key }));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return unreadable(because('INVALID_JSON', 'why.ps.notJson', { script: key, error: (err as Error).message }));
  }
  if (raw !== null && typeof raw === 'object' && typeof (raw as { fatal?: unknown }).fatal === 'string') {
    return unreadable(said(`SCRIPT_ERROR: ${key}: ${(raw as { fatal: string }).fatal}`));
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return unreadable(because('UNEXPECTED_SHAPE', 'why.ps.shape', { script: key, path: issue?.path.join('.') || '-', issue: issue?.message ?? '-' }));
  }
  return { ok: true, data: parsed.data };
}

/** The per-part errors every script reports (see PS_PRELUDE). */
export interface ScriptError {
  part: string;
  message: string;
}

/** A part of a script that failed on the PC, with the error message Windows printed (kept as it is), or undefined. */
export function partWhy(errors: readonly ScriptError[], part: string): Why | undefined {
  const text = partError(errors, part);
  return text === undefined ? undefined : said(text);
}

/** Reason text for a part of a script that failed on the PC, or undefined when it did not fail. */
export function partError(errors: readonly ScriptError[], part: string): string | undefined {
  const hit = errors.find((e) => e.part === part);
  return hit ? `SCRIPT_ERROR: ${part}: ${hit.message}` : undefined;
}

/** Normalise an ISO time printed by PowerShell ('o' format, 7 fraction digits) to JS ISO; null stays null. */
export function isoOrNull(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** A wall-clock text as ConvertTo-MamoriWallClock prints it: no zone designator. */
const WALL_CLOCK = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;

/**
 * A COM DATE the documentation gives in UTC, printed by ConvertTo-MamoriWallClock, as JS ISO;
 * null stays null, anything else is null too (never read in the agent's own time zone).
 * The years 1899/1900 are the OLE Automation zero date (0.0 = 1899-12-30), i.e. "never".
 */
export function comDateUtc(value: string | null | undefined): string | null {
  const m = WALL_CLOCK.exec(value ?? '');
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  if (Number(y) < 1901) return null;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number((frac ?? '0').padEnd(3, '0').slice(0, 3)));
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** UINT32_MAX, which Defender and the Windows APIs use for "never" / "not set" (platform-probes.md §3.3). */
export const UINT32_NEVER = 4294967295;
