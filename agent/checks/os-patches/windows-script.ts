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
 * - Update history: the newest HISTORY_LIMIT entries of the Windows Update Agent history
 *   (IUpdateSearcher.QueryHistory, "sorted by date in descending order", MS-UAMG 3.38.4.10)
 *   with Operation, ResultCode, the update's CategoryIDs (IUpdateHistoryEntry2.Categories) and
 *   Date, which is UTC (MS-UAMG 3.32.4.4 IUpdateHistoryEntry::Date: "The date-time, in UTC").
 *   The parser picks the newest succeeded installation of a security or critical update, so
 *   Defender definition updates (several a day) never count (windows-parse.ts).
 *   Get-HotFix / Win32_QuickFixEngineering misses cumulative updates (§5.1).
 *
 * `win.os-patches.wua` (slow, cached by the collector): the Windows Update Agent search
 * `IsInstalled=0 and Type='Software' and IsHidden=0` with Online = $false, i.e. against the
 * update metadata Windows Update's own scheduled scan keeps current, so the agent never
 * starts a network scan itself (the online search can take minutes and fails with WSUS
 * errors such as 0x8024401C: bklockwood/PSWU#20, ansible/ansible#26238). The age of that
 * metadata is Microsoft.Update.AutoUpdate.Results.LastSearchSuccessDate.
 *
 * COM DATEs carry no time zone; the Windows Update Agent documents LastSearchSuccessDate
 * (IAutomaticUpdatesResults), LastDeploymentChangeTime (IUpdate) and the history Date as UTC.
 * They are printed as wall-clock text (ConvertTo-MamoriWallClock) and read as UTC by the parser
 * (comDateUtc): ToUniversalTime() would take them as local time, 9 hours off in Japan.
 */
import { PS_PRELUDE } from '../software/windows-common.js';

/** How many history entries (newest first) are read: a year of several definition updates a day. */
export const HISTORY_LIMIT = 2000;

export const OS_PATCHES_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.os-patches/2'; os = $null; reboot = $null; history = $null }
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
  $count = [int]$searcher.GetTotalHistoryCount()
  $entries = @()
  if ($count -gt 0) {
    foreach ($h in @($searcher.QueryHistory(0, [Math]::Min($count, ${HISTORY_LIMIT})))) {
      $categories = @()
      foreach ($c in @($h.Categories)) { $categories += ,([string]$c.CategoryID) }
      $entries += ,([ordered]@{
        Date = ConvertTo-MamoriWallClock $h.Date
        Operation = [int]$h.Operation
        ResultCode = [int]$h.ResultCode
        Title = $h.Title
        UpdateID = [string]$h.UpdateIdentity.UpdateID
        CategoryIDs = @($categories)
      })
    }
  }
  $doc.history = [ordered]@{ totalCount = $count; entries = @($entries) }
} catch { Add-MamoriError 'history' $_ }
Write-MamoriJson $doc`;

/**
 * Update classifications (CategoryIDs, language-neutral), from "WSUS Classification GUIDs"
 * (learn.microsoft.com/previous-versions/windows/desktop/ff357803).
 */
export const CLASSIFICATION = {
  securityUpdates: '0fa1201d-4330-4fa8-8ae9-b877473b6441',
  criticalUpdates: 'e6cf1350-c01b-414d-a61f-263d14d133b4',
  definitionUpdates: 'e0789628-ce08-4437-be74-2495b842f43b',
} as const;

export const WUA_SEARCH_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.os-patches.wua/2'; searchedAt = $null; lastOnlineSearchAt = $null; resultCode = $null; updates = @() }
try {
  try { $doc.lastOnlineSearchAt = ConvertTo-MamoriWallClock (New-Object -ComObject Microsoft.Update.AutoUpdate).Results.LastSearchSuccessDate } catch { Add-MamoriError 'last-search' $_ }
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
      LastDeploymentChangeTime = ConvertTo-MamoriWallClock $u.LastDeploymentChangeTime
      RebootRequired = [bool]$u.RebootRequired
    })
  }
  $doc.updates = @($updates)
} catch { Add-MamoriError 'search' $_ }
Write-MamoriJson $doc`;
