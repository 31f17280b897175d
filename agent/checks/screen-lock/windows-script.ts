/**
 * PowerShell script of the screen-lock check on Windows (probe key `win.screen-lock`).
 *
 * Registry values only (platform-probes.md §4.1):
 * - machine: HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\InactivityTimeoutSecs
 *   ("Interactive logon: Machine inactivity limit", DWORD seconds);
 * - per loaded user hive HKU\<SID>: `Control Panel\Desktop` and the policy copy
 *   `Software\Policies\Microsoft\Windows\Control Panel\Desktop` (ScreenSaveActive,
 *   ScreenSaverIsSecure, ScreenSaveTimeOut — REG_SZ strings — SCRNSAVE.EXE), and
 *   DelayLockInterval (DWORD, 0xFFFFFFFF = never).
 * Loaded hives of every SID authority are read (local, domain, Microsoft Entra ID S-1-12-1-…);
 * the SIDs owning an explorer.exe and the accounts of the interactive logon sessions are printed
 * too, so the parser keeps the people signed in (interactiveSids in software/windows-common.ts):
 * a service account's loaded hive is not a desktop session.
 */
import { PS_LOADED_USERS, PS_LOGON_SESSIONS, PS_PRELUDE } from '../software/windows-common.js';

export const SCREEN_LOCK_SCRIPT = `${PS_PRELUDE}
${PS_LOADED_USERS}
${PS_LOGON_SESSIONS}
$doc = [ordered]@{ schema = 'mamori.win.screen-lock/2'; machine = $null; users = @(); explorerSids = $null; logonSessions = $null }
$names = @('ScreenSaveActive', 'ScreenSaverIsSecure', 'ScreenSaveTimeOut', 'SCRNSAVE.EXE', 'DelayLockInterval')
function Get-MamoriDesktopValues([string]$Path) {
  $values = [ordered]@{}
  foreach ($n in $names) {
    $v = Get-MamoriRegValue $Path $n
    $values[$n] = if ($null -eq $v) { $null } else { [string]$v }
  }
  return $values
}
try {
  $doc.machine = [ordered]@{ InactivityTimeoutSecs = Get-MamoriRegValue 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System' 'InactivityTimeoutSecs' }
} catch { Add-MamoriError 'machine' $_ }
try {
  $users = @()
  foreach ($u in (Get-MamoriLoadedUsers)) {
    $users += ,([ordered]@{
      sid = $u.sid
      name = $u.name
      desktop = Get-MamoriDesktopValues ('HKEY_USERS\\' + $u.sid + '\\Control Panel\\Desktop')
      policy = Get-MamoriDesktopValues ('HKEY_USERS\\' + $u.sid + '\\Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop')
    })
  }
  $doc.users = @($users)
} catch { Add-MamoriError 'users' $_ }
try {
  $sids = @()
  foreach ($p in @(Get-CimInstance -ClassName Win32_Process -Filter "Name = 'explorer.exe'")) {
    $o = Invoke-CimMethod -InputObject $p -MethodName GetOwnerSid
    if ($o.ReturnValue -eq 0 -and $o.Sid) { $sids += ,([string]$o.Sid) }
  }
  $doc.explorerSids = @($sids | Select-Object -Unique)
} catch { Add-MamoriError 'explorer' $_ }
try { $doc.logonSessions = Get-MamoriLogonSessions } catch { Add-MamoriError 'sessions' $_ }
Write-MamoriJson $doc`;
