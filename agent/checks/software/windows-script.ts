/**
 * PowerShell script of the software check on Windows (probe key `win.software`).
 *
 * - Uninstall keys of HKLM, HKLM\…\WOW6432Node and of every loaded user hive HKU\<SID>
 *   (the agent runs as SYSTEM, so HKCU would be SYSTEM's own hive; platform-probes.md §2.1).
 *   Value names as in the Uninstall key: DisplayName, DisplayVersion, Publisher, InstallDate,
 *   SystemComponent, ParentKeyName, ReleaseType.
 * - Get-AppxPackage -AllUsers (Store/MSIX apps; needs the SYSTEM/admin context).
 * - Win32_Process (Name, ExecutablePath, ProcessId) with the owner from
 *   Get-Process -IncludeUserName (one call instead of one GetOwner() per process).
 * A hive without an Uninstall key has nothing installed there; any other failure to read a key
 * or an entry is recorded as an `uninstall` error (the inventory is then incomplete, not
 * complete minus the entry nobody could read) and the other entries are still listed.
 * Win32_Product is never queried: enumerating it makes Windows Installer run a consistency
 * check and reconfigure products (MsiInstaller event 1035, KB974524; dsccommunity/SqlServerDsc#15).
 */
import { PS_LOADED_USERS, PS_PRELUDE } from './windows-common.js';

export const SOFTWARE_SCRIPT = `${PS_PRELUDE}
${PS_LOADED_USERS}
$doc = [ordered]@{ schema = 'mamori.win.software/1'; users = @(); uninstall = @(); appx = @(); processes = @() }
function Get-MamoriUninstall([string]$Root, [string]$Source, $Sid) {
  $entries = @()
  $keys = @()
  try { $keys = @(Get-ChildItem -LiteralPath ('Registry::' + $Root)) }
  catch [System.Management.Automation.ItemNotFoundException] { return ,$entries }
  catch { Add-MamoriError 'uninstall' $_; return ,$entries }
  foreach ($key in $keys) {
    $p = $null
    try { $p = Get-ItemProperty -LiteralPath $key.PSPath } catch { Add-MamoriError 'uninstall' $_; continue }
    if ($null -eq $p) { continue }
    $entries += ,([ordered]@{
      source = $Source
      sid = $Sid
      keyName = [string]$key.PSChildName
      DisplayName = $p.DisplayName
      DisplayVersion = $p.DisplayVersion
      Publisher = $p.Publisher
      InstallDate = $p.InstallDate
      SystemComponent = $p.SystemComponent
      ParentKeyName = $p.ParentKeyName
      ReleaseType = $p.ReleaseType
    })
  }
  return ,$entries
}
try {
  $doc.users = Get-MamoriLoadedUsers
  $u = 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall'
  $w = 'SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall'
  $all = @()
  $all += Get-MamoriUninstall ('HKEY_LOCAL_MACHINE\\' + $u) 'uninstall-hklm' $null
  $all += Get-MamoriUninstall ('HKEY_LOCAL_MACHINE\\' + $w) 'uninstall-wow64' $null
  foreach ($user in $doc.users) {
    $all += Get-MamoriUninstall ('HKEY_USERS\\' + $user.sid + '\\' + $u) 'uninstall-user' $user.sid
    $all += Get-MamoriUninstall ('HKEY_USERS\\' + $user.sid + '\\' + $w) 'uninstall-user' $user.sid
  }
  $doc.uninstall = @($all)
} catch { Add-MamoriError 'uninstall' $_ }
try {
  $apps = @()
  foreach ($a in @(Get-AppxPackage -AllUsers)) {
    $apps += ,([ordered]@{
      Name = $a.Name
      PackageFullName = $a.PackageFullName
      Version = [string]$a.Version
      Publisher = $a.Publisher
      IsFramework = [bool]$a.IsFramework
      IsResourcePackage = [bool]$a.IsResourcePackage
      SignatureKind = [string]$a.SignatureKind
    })
  }
  $doc.appx = @($apps)
} catch { Add-MamoriError 'appx' $_ }
try {
  $owners = @{}
  try { foreach ($gp in @(Get-Process -IncludeUserName)) { $owners[[int]$gp.Id] = $gp.UserName } } catch { Add-MamoriError 'process-owner' $_ }
  $procs = @()
  foreach ($p in @(Get-CimInstance -ClassName Win32_Process -Property ProcessId, Name, ExecutablePath)) {
    $procs += ,([ordered]@{ ProcessId = [int]$p.ProcessId; Name = $p.Name; ExecutablePath = $p.ExecutablePath; Owner = $owners[[int]$p.ProcessId] })
  }
  $doc.processes = @($procs)
} catch { Add-MamoriError 'processes' $_ }
Write-MamoriJson $doc`;
