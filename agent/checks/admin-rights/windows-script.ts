/**
 * PowerShell script of the admin-rights check on Windows (probe key `win.admin-rights`).
 *
 * - Interactive accounts: Get-MamoriLogonSessions (windows-common.ts).
 * - Members of the local Administrators group by its SID S-1-5-32-544 (its name is localised on
 *   some display languages, e.g. "Administratoren", so the name is looked up from the SID), read
 *   through the ADSI WinNT provider (`Members`; each member's objectSid, Path WinNT://DOMAIN/name or
 *   WinNT://DOMAIN/PC/name, SchemaClassName User/Group). Members that are domain groups are
 *   expanded one level the same way (global groups held by the domain); a group inside those,
 *   and Microsoft Entra ID role SIDs (S-1-12-1-…), cannot be expanded here and are printed as such.
 *   Get-LocalGroupMember is not used: it fails on the whole group when one member SID cannot be
 *   resolved (PowerShell/PowerShell#2996).
 * - UAC: HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System EnableLUA (DWORD; absent
 *   means the default 1, "User Account Control: Run all administrators in Admin Approval Mode").
 * - Built-in administrator: Win32_UserAccount with LocalAccount = TRUE (without it the class
 *   enumerates the domain) whose SID ends in -500: Name and Disabled.
 */
import { PS_LOGON_SESSIONS, PS_PRELUDE } from '../software/windows-common.js';

export const ADMIN_RIGHTS_SCRIPT = `${PS_PRELUDE}
${PS_LOGON_SESSIONS}
function Get-MamoriGroupMembers($Group) {
  $members = @()
  foreach ($m in @($Group.Invoke('Members'))) {
    $entry = [ADSI]$m
    $sid = $null
    try { $sid = (New-Object System.Security.Principal.SecurityIdentifier([byte[]]$entry.InvokeGet('objectSid'), 0)).Value } catch { $sid = $null }
    $members += ,([ordered]@{ path = [string]$entry.Path; sid = $sid; class = [string]$entry.SchemaClassName })
  }
  return ,$members
}
$doc = [ordered]@{ schema = 'mamori.win.admin-rights/1'; sessions = $null; administrators = $null; nested = $null; EnableLUA = $null; builtinAdmin = $null }
try { $doc.sessions = Get-MamoriLogonSessions } catch { Add-MamoriError 'sessions' $_ }
try {
  $name = (New-Object System.Security.Principal.SecurityIdentifier('S-1-5-32-544')).Translate([System.Security.Principal.NTAccount]).Value.Split('\\')[-1]
  $doc.administrators = Get-MamoriGroupMembers ([ADSI]('WinNT://./' + $name + ',group'))
  $nested = @()
  foreach ($g in @($doc.administrators | Where-Object { $_.class -eq 'Group' -and $_.sid -notlike 'S-1-12-1-*' })) {
    $parts = $g.path -replace '^WinNT://', '' -split '/'
    if ($parts.Count -ne 2) { continue }
    try { $nested += ,([ordered]@{ group = $g.path; members = Get-MamoriGroupMembers ([ADSI]('WinNT://' + $parts[0] + '/' + $parts[1] + ',group')); error = $null }) }
    catch { $nested += ,([ordered]@{ group = $g.path; members = $null; error = [string]$_.Exception.Message }) }
  }
  $doc.nested = @($nested)
} catch { Add-MamoriError 'administrators' $_ }
try {
  $lua = Get-MamoriRegValue 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System' 'EnableLUA'
  $doc.EnableLUA = if ($null -eq $lua) { $null } else { [int]$lua }
} catch { Add-MamoriError 'uac' $_ }
try {
  $admin = @(Get-CimInstance -ClassName Win32_UserAccount -Filter 'LocalAccount = TRUE' | Where-Object { $_.SID -like 'S-1-5-21-*-500' })
  $doc.builtinAdmin = if ($admin.Count -gt 0) { [ordered]@{ Name = [string]$admin[0].Name; Disabled = [bool]$admin[0].Disabled; SID = [string]$admin[0].SID } } else { $null }
} catch { Add-MamoriError 'builtin-admin' $_ }
Write-MamoriJson $doc`;
