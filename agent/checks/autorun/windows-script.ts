/**
 * PowerShell script of the autorun check on Windows (probe key `win.autorun`). Registry values and
 * Defender properties only, so the document is the same on every display language.
 *
 * - AutoRun/AutoPlay: HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer
 *   NoDriveTypeAutoRun (DWORD bit mask of drive types: 0x04 removable, 0x20 CD-ROM, 0xFF all) and
 *   NoAutorun (DWORD 1 = "Do not execute any autorun commands"), the values the Group Policy
 *   settings "Turn off AutoPlay" and "Set the default behavior for AutoRun" write (Microsoft
 *   Support "How to disable the Autorun functionality in Windows"; Administrative Templates
 *   AutoPlay.admx). HKCU values are not read: they are a user's own choice, not a machine setting.
 * - Removable drives scanned: Get-MpComputerStatus AMRunningMode / RealTimeProtectionEnabled and
 *   Get-MpPreference DisableRemovableDriveScanning (learn.microsoft.com msft-mppreference); both
 *   throw when Defender is not installed, which the parser reports as not determinable.
 * - Writing to removable drives: HKLM\SYSTEM\CurrentControlSet\Policies\Microsoft\FVE
 *   RDVDenyWriteAccess (DWORD 1 = "Deny write access to removable drives not protected by
 *   BitLocker"; BitLocker Group Policy settings reference) and
 *   HKLM\SOFTWARE\Policies\Microsoft\Windows\RemovableStorageDevices Deny_All and
 *   {53f5630d-b6bf-11d0-94f2-00a0c91efb8b} (Removable Disks) Deny_Write (RemovableStorage.admx).
 */
import { PS_PRELUDE } from '../software/windows-common.js';

export const AUTORUN_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.autorun/1'; explorer = $null; defender = $null; removable = $null }
try {
  $exp = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\Explorer'
  $doc.explorer = [ordered]@{ NoDriveTypeAutoRun = Get-MamoriRegValue $exp 'NoDriveTypeAutoRun'; NoAutorun = Get-MamoriRegValue $exp 'NoAutorun' }
} catch { Add-MamoriError 'explorer' $_ }
try {
  $status = Get-MpComputerStatus
  $pref = Get-MpPreference
  $doc.defender = [ordered]@{ AMRunningMode = [string]$status.AMRunningMode; RealTimeProtectionEnabled = [bool]$status.RealTimeProtectionEnabled; DisableRemovableDriveScanning = [bool]$pref.DisableRemovableDriveScanning }
} catch { Add-MamoriError 'defender' $_ }
try {
  $rsd = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\RemovableStorageDevices'
  $doc.removable = [ordered]@{
    RDVDenyWriteAccess = Get-MamoriRegValue 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Policies\\Microsoft\\FVE' 'RDVDenyWriteAccess'
    DenyAll = Get-MamoriRegValue $rsd 'Deny_All'
    DenyWrite = Get-MamoriRegValue ($rsd + '\\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}') 'Deny_Write'
  }
} catch { Add-MamoriError 'removable' $_ }
Write-MamoriJson $doc`;
