/**
 * PowerShell script of the beyond check on Windows (probe key `win.beyond`).
 *
 * - Firewall: Get-NetFirewallProfile -PolicyStore ActiveStore — without it the cmdlet reads the
 *   local PersistentStore, which does not contain GPO-applied settings (Get-NetFirewallSetting
 *   docs; platform-probes.md §6.1). Enabled is a GpoBoolean (1 true, 0 false, 2 not configured),
 *   DefaultInboundAction an Action (0 not configured, 2 allow, 4 block); printed as numbers.
 *   The MpsSvc service state is printed too: profiles say nothing when the service is stopped.
 * - BitLocker of the system drive: Win32_EncryptableVolume (root/cimv2/Security/MicrosoftVolumeEncryption,
 *   needs SYSTEM/admin). The class documents four properties (DeviceID, PersistentVolumeID, DriveLetter,
 *   ProtectionStatus; learn.microsoft.com win32-encryptablevolume): the conversion state and the
 *   cipher are read from its methods GetConversionStatus (out ConversionStatus; its EncryptionPercentage
 *   output is not needed) and GetEncryptionMethod (out EncryptionMethod), each checked for ReturnValue 0.
 *   When the query fails, the CimException's NativeErrorCode is printed (an enum name such as
 *   InvalidNamespace or AccessDenied, never localised; learn.microsoft.com
 *   microsoft.management.infrastructure.nativeerrorcode): on Windows Server without the BitLocker
 *   feature the namespace does not exist (the feature installs the provider). Then the Explorer shell
 *   property System.Volume.BitLockerProtection is read (readable by any user, undocumented values; only
 *   1 and 6 count as encrypted — §7.1).
 * - A failed MpsSvc query is reported as an error of its own part: the profiles alone do not tell a
 *   running firewall.
 * - Time: W32Time Parameters\Type and NtpServer (learn.microsoft.com windows-time-service-tools-and-settings)
 *   and TimeProviders\NtpClient\Enabled (REG_DWORD; "if this value is 1, the provider is started.
 *   Otherwise, the provider is not started" — learn.microsoft.com registering-a-time-provider) from the
 *   registry, the W32Time service state,
 *   domain membership, and the newest Microsoft-Windows-Time-Service events by id (35/37 source
 *   in use / receiving valid data; 36, 47, 129, 134, 142 not synchronised / no usable source).
 *   Get-WinEvent reports "no event" as an error whose FullyQualifiedErrorId is NoMatchingEventsFound
 *   (its message is localised, the id is not): that is an answer; any other error (log unreadable)
 *   is reported as the time-events part, so "no event" is never confused with "could not look".
 *   `w32tm /query /status` is NOT used: its labels are localised (Japanese Windows prints
 *   「最終正常同期日時」), so the last-sync time and the phase offset it shows are not read.
 */
import { PS_PRELUDE } from '../software/windows-common.js';

export const BEYOND_SCRIPT = `${PS_PRELUDE}
function Get-MamoriTimeEvent([int[]]$Ids) {
  try {
    $found = @(Get-WinEvent -FilterHashtable @{ LogName = 'System'; ProviderName = 'Microsoft-Windows-Time-Service'; Id = $Ids } -MaxEvents 1 -ErrorAction Stop)
    if ($found.Count -gt 0) { return [ordered]@{ id = [int]$found[0].Id; at = ConvertTo-MamoriIso $found[0].TimeCreated } }
  } catch {
    if ([string]$_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*') { throw }
  }
  return $null
}
$doc = [ordered]@{ schema = 'mamori.win.beyond/1'; firewall = $null; firewallService = $null; bitlocker = $null; time = $null }
try {
  $profiles = @()
  foreach ($p in @(Get-NetFirewallProfile -PolicyStore ActiveStore)) {
    $profiles += ,([ordered]@{ Name = [string]$p.Name; Enabled = [int]$p.Enabled; DefaultInboundAction = [int]$p.DefaultInboundAction; DefaultOutboundAction = [int]$p.DefaultOutboundAction })
  }
  $doc.firewall = @($profiles)
} catch { Add-MamoriError 'firewall' $_ }
try {
  $svc = Get-CimInstance -ClassName Win32_Service -Filter "Name = 'MpsSvc'"
  $doc.firewallService = if ($svc) { [ordered]@{ State = [string]$svc.State; StartMode = [string]$svc.StartMode } } else { $null }
} catch { Add-MamoriError 'firewall-service' $_ }
try {
  $drive = $env:SystemDrive
  $bl = [ordered]@{ systemDrive = $drive; source = $null; ProtectionStatus = $null; ConversionStatus = $null; EncryptionMethod = $null; shellValue = $null; wmiError = $null; wmiErrorCode = $null }
  try {
    $v = Get-CimInstance -Namespace 'root/cimv2/Security/MicrosoftVolumeEncryption' -ClassName Win32_EncryptableVolume -Filter ("DriveLetter = '" + $drive + "'")
    if ($null -eq $v) { throw ('no Win32_EncryptableVolume for ' + $drive) }
    $conversion = Invoke-CimMethod -InputObject $v -MethodName GetConversionStatus
    if ($conversion.ReturnValue -ne 0) { throw ('GetConversionStatus returned ' + $conversion.ReturnValue) }
    $method = Invoke-CimMethod -InputObject $v -MethodName GetEncryptionMethod
    if ($method.ReturnValue -ne 0) { throw ('GetEncryptionMethod returned ' + $method.ReturnValue) }
    $bl.source = 'Win32_EncryptableVolume'
    $bl.ProtectionStatus = [int]$v.ProtectionStatus
    $bl.ConversionStatus = [int]$conversion.ConversionStatus
    $bl.EncryptionMethod = [int]$method.EncryptionMethod
  } catch {
    $bl.wmiError = [string]$_.Exception.Message
    if ($_.Exception -is [Microsoft.Management.Infrastructure.CimException]) { $bl.wmiErrorCode = [string]$_.Exception.NativeErrorCode }
    $shellValue = (New-Object -ComObject Shell.Application).NameSpace($drive + '\\').Self.ExtendedProperty('System.Volume.BitLockerProtection')
    $bl.source = 'Shell.Application'
    $bl.shellValue = if ($null -eq $shellValue) { $null } else { [int]$shellValue }
  }
  $doc.bitlocker = $bl
} catch { Add-MamoriError 'bitlocker' $_ }
try {
  $params = 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\W32Time\\Parameters'
  $w32 = Get-CimInstance -ClassName Win32_Service -Filter "Name = 'W32Time'"
  $good = $null
  $bad = $null
  try {
    $good = Get-MamoriTimeEvent @(35, 37)
    $bad = Get-MamoriTimeEvent @(36, 47, 129, 134, 142)
  } catch { Add-MamoriError 'time-events' $_ }
  $doc.time = [ordered]@{
    Type = Get-MamoriRegValue $params 'Type'
    NtpServer = Get-MamoriRegValue $params 'NtpServer'
    NtpClientEnabled = Get-MamoriRegValue 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\W32Time\\TimeProviders\\NtpClient' 'Enabled'
    serviceState = if ($w32) { [string]$w32.State } else { $null }
    serviceStartMode = if ($w32) { [string]$w32.StartMode } else { $null }
    partOfDomain = [bool](Get-CimInstance -ClassName Win32_ComputerSystem -Property PartOfDomain).PartOfDomain
    lastGoodEvent = $good
    lastBadEvent = $bad
  }
} catch { Add-MamoriError 'time' $_ }
Write-MamoriJson $doc`;
