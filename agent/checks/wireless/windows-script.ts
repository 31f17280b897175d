/**
 * PowerShell script of the wireless check on Windows (probe key `win.wireless`). `netsh wlan show
 * interfaces` is not read: its labels are localised.
 *
 * - Adapters: Get-NetAdapter -Physical (MSFT_NetAdapter) with NdisPhysicalMedium 9 (NdisPhysicalMediumNative802_11,
 *   ntddndis.h): Name, State (3 = disabled), InterfaceAdminStatus (1 = up), MediaConnectState
 *   (1 = connected) (learn.microsoft.com MSFT_NetAdapter).
 * - Connected networks: Get-NetConnectionProfile of each connected Wi-Fi adapter (Name = the network
 *   name), and the WLAN profiles exported by `netsh wlan export profile folder=…` as XML in the WLAN
 *   profile schema (learn.microsoft.com/windows/win32/nativewifi/wlan-profileschema-elements):
 *   <name>, SSIDConfig/SSID/name, MSM/security/authEncryption/authentication. Only the files are
 *   read, never netsh's own text; it runs only when a Wi-Fi adapter is connected.
 */
import { PS_PRELUDE } from '../software/windows-common.js';

export const WIRELESS_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.wireless/1'; adapters = $null; connectedProfiles = $null; wlanProfiles = $null }
try {
  $adapters = @()
  foreach ($a in @(Get-NetAdapter -Physical | Where-Object { $_.NdisPhysicalMedium -eq 9 })) {
    $adapters += ,([ordered]@{ Name = [string]$a.Name; InterfaceIndex = [int]$a.InterfaceIndex; State = [int]$a.State; InterfaceAdminStatus = [int]$a.InterfaceAdminStatus; MediaConnectState = [int]$a.MediaConnectState })
  }
  $doc.adapters = $adapters
} catch { Add-MamoriError 'adapters' $_ }
if ($doc.adapters -and @($doc.adapters | Where-Object { $_.MediaConnectState -eq 1 }).Count -gt 0) {
  try {
    $names = @()
    foreach ($a in @($doc.adapters | Where-Object { $_.MediaConnectState -eq 1 })) {
      foreach ($p in @(Get-NetConnectionProfile -InterfaceIndex $a.InterfaceIndex)) { $names += ,([string]$p.Name) }
    }
    $doc.connectedProfiles = $names
  } catch { Add-MamoriError 'connection-profiles' $_ }
  $dir = Join-Path $env:TEMP ('mamori-wlan-' + [guid]::NewGuid().ToString('N'))
  try {
    New-Item -ItemType Directory -Path $dir | Out-Null
    $ErrorActionPreference = 'Continue'
    & (Join-Path $env:SystemRoot 'System32\\netsh.exe') wlan export profile ('folder=' + $dir) *> $null
    $code = $LASTEXITCODE
    $ErrorActionPreference = 'Stop'
    if ($code -ne 0) { throw ('netsh wlan export profile exited with code ' + $code) }
    $profiles = @()
    foreach ($f in @(Get-ChildItem -LiteralPath $dir -Filter '*.xml')) {
      [xml]$x = [System.IO.File]::ReadAllText($f.FullName)
      $profiles += ,([ordered]@{ name = [string]$x.WLANProfile.name; ssid = [string]$x.WLANProfile.SSIDConfig.SSID.name; authentication = [string]$x.WLANProfile.MSM.security.authEncryption.authentication })
    }
    $doc.wlanProfiles = $profiles
  } catch { Add-MamoriError 'wlan-profiles' $_ }
  finally {
    $ErrorActionPreference = 'Stop'
    if (Test-Path -LiteralPath $dir) { Remove-Item -LiteralPath $dir -Recurse -Force }
  }
}
Write-MamoriJson $doc`;
