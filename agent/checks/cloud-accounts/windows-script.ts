/**
 * PowerShell script of the cloud-accounts check on Windows (probe key `win.cloud-accounts`), per loaded
 * user hive (Get-MamoriLoadedUsers, windows-common.ts):
 * - OneDrive: the subkeys of HKU\<SID>\Software\Microsoft\OneDrive\Accounts — `Personal` for a Microsoft
 *   account, `Business1`, `Business2` … for work or school accounts (the keys the OneDrive sync app writes;
 *   learn.microsoft.com sharepoint "Use Group Policy to control OneDrive sync settings" refers to them).
 * - Dropbox: the top-level keys of <profile>\AppData\Local\Dropbox\info.json, `personal` and `business`
 *   (Dropbox Help Center, "How to programmatically find the Dropbox folder paths").
 * - Google Drive for desktop: account folders (numeric account ids) under <profile>\AppData\Local\Google\DriveFS.
 * Only key and folder names are printed, never e-mail addresses or paths inside the accounts.
 */
import { PS_LOADED_USERS, PS_PRELUDE } from '../software/windows-common.js';

export const CLOUD_ACCOUNTS_SCRIPT = `${PS_PRELUDE}
${PS_LOADED_USERS}
$doc = [ordered]@{ schema = 'mamori.win.cloud-accounts/1'; users = $null }
try {
  $users = @()
  foreach ($u in @(Get-MamoriLoadedUsers)) {
    $entry = [ordered]@{ sid = $u.sid; name = $u.name; onedrive = @(); dropbox = $null; driveFs = @(); error = $null }
    try {
      $od = 'Registry::HKEY_USERS\\' + $u.sid + '\\Software\\Microsoft\\OneDrive\\Accounts'
      if (Test-Path -LiteralPath $od) { $entry.onedrive = @(Get-ChildItem -LiteralPath $od | ForEach-Object { [string]$_.PSChildName }) }
      if ($u.profilePath) {
        $info = Join-Path $u.profilePath 'AppData\\Local\\Dropbox\\info.json'
        if (Test-Path -LiteralPath $info) { $entry.dropbox = @((ConvertFrom-Json ([System.IO.File]::ReadAllText($info))).PSObject.Properties | ForEach-Object { [string]$_.Name }) }
        $dfs = Join-Path $u.profilePath 'AppData\\Local\\Google\\DriveFS'
        if (Test-Path -LiteralPath $dfs) { $entry.driveFs = @(Get-ChildItem -LiteralPath $dfs -Directory | Where-Object { $_.Name -match '^[0-9]{10,}$' } | ForEach-Object { [string]$_.Name }) }
      }
    } catch { $entry.error = [string]$_.Exception.Message }
    $users += ,$entry
  }
  $doc.users = $users
} catch { Add-MamoriError 'users' $_ }
Write-MamoriJson $doc`;
