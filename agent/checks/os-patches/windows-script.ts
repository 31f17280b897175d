/**
 * PowerShell scripts of the os-patches check on Windows.
 *
 * `win.os-patches` (fast, every run):
 * - OS identity from HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion: ProductName,
 *   CurrentBuild, UBR, DisplayVersion, ReleaseId, EditionID, InstallationType.
 * - Reboot pending: Microsoft.Update.SystemInfo.RebootRequired, the Component Based Servicing
 *   RebootPending key and WindowsUpdate\Auto Update\RebootRequired. PendingFileRenameOperations
 *   is deliberately not read: ordinary installers set it, so it reports reboots that are not
 *   about patches (cnquery providers/os/resources/reboot/windows.go; platform-probes.md §5.1).
 * - Last successful update: the Windows Update Agent history (QueryHistory, ResultCode 2 =
 *   succeeded); Get-HotFix / Win32_QuickFixEngineering misses cumulative updates (§5.1).
 *
 * `win.os-patches.wua` (slow, cached by the collector): the Windows Update Agent search
 * `IsInstalled=0 and Type='Software' and IsHidden=0` with Online = $false, i.e. against the
 * update metadata Windows Update's own scheduled scan keeps current, so the agent never
 * starts a network scan itself (the online search can take minutes and fails with WSUS
 * errors such as 0x8024401C: bklockwood/PSWU#20, ansible/ansible#26238). The age of that
 * metadata is Microsoft.Update.AutoUpdate.Results.LastSearchSuccessDate (UTC).
 */
import { PS_PRELUDE } from '../software/windows-common.js';

export const OS_PATCHES_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.os-patches/1'; os = $null; reboot = $null; history = $null }
try {
  $cv = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'
  $doc.os = [ordered]@{
    ProductName = Get-MamoriRegValue $cv 'ProductName'
    CurrentBuild = Get-MamoriRegValue $cv 'CurrentBuild'
    UBR = Get-MamoriRegValue $cv 'UBR'
    DisplayVersion = Get-MamoriRegValue $cv 'DisplayVersion'
    ReleaseId = Get-MamoriRegValue $cv 'ReleaseId'
    EditionID = Get-MamoriRegValue $cv 'EditionID'
    InstallationType = Get-MamoriRegValue $cv 'InstallationType'
  }
} catch { Add-MamoriError 'os' $_ }
try {
  $wua = $null
  try { $wua = [bool](New-Object -ComObject Microsoft.Update.SystemInfo).RebootRequired } catch { Add-MamoriError 'reboot-wua' $_ }
  $doc.reboot = [ordered]@{
    wuaRebootRequired = $wua
    cbsRebootPending = Test-Path -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending'
    wuRebootRequired = Test-Path -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired'
  }
} catch { Add-MamoriError 'reboot' $_ }
try {
  $searcher = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher()
  $count = $searcher.GetTotalHistoryCount()
  $last = $null
  $lastTitle = $null
  if ($count -gt 0) {
    foreach ($h in @($searcher.QueryHistory(0, $count))) {
      if ($h.ResultCode -eq 2 -and $h.Operation -eq 1 -and ($null -eq $last -or $h.Date -gt $last)) { $last = $h.Date; $lastTitle = $h.Title }
    }
  }
  $doc.history = [ordered]@{ totalCount = [int]$count; lastSuccessAt = ConvertTo-MamoriIso $last; lastSuccessTitle = $lastTitle }
} catch { Add-MamoriError 'history' $_ }
Write-MamoriJson $doc`;

/** Security Updates classification of Windows Update (UpdateClassification CategoryID). */
export const SECURITY_UPDATES_CATEGORY = '0fa1201d-4330-4fa8-8ae9-b877473b6441';

export const WUA_SEARCH_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.os-patches.wua/1'; searchedAt = $null; lastOnlineSearchAt = $null; resultCode = $null; updates = @() }
try {
  try { $doc.lastOnlineSearchAt = ConvertTo-MamoriIso (New-Object -ComObject Microsoft.Update.AutoUpdate).Results.LastSearchSuccessDate } catch { Add-MamoriError 'last-search' $_ }
  $searcher = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher()
  $searcher.Online = $false
  $result = $searcher.Search("IsInstalled=0 and Type='Software' and IsHidden=0")
  $doc.searchedAt = ConvertTo-MamoriIso (Get-Date)
  $doc.resultCode = [int]$result.ResultCode
  $updates = @()
  foreach ($u in @($result.Updates)) {
    $categories = @()
    foreach ($c in @($u.Categories)) { $categories += ,([string]$c.CategoryID) }
    $kbs = @()
    foreach ($k in @($u.KBArticleIDs)) { $kbs += ,([string]$k) }
    $updates += ,([ordered]@{
      UpdateID = [string]$u.Identity.UpdateID
      RevisionNumber = [int]$u.Identity.RevisionNumber
      Title = $u.Title
      MsrcSeverity = $u.MsrcSeverity
      CategoryIDs = @($categories)
      KBArticleIDs = @($kbs)
      LastDeploymentChangeTime = ConvertTo-MamoriIso $u.LastDeploymentChangeTime
      RebootRequired = [bool]$u.RebootRequired
    })
  }
  $doc.updates = @($updates)
} catch { Add-MamoriError 'search' $_ }
Write-MamoriJson $doc`;
