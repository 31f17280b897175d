/**
 * PowerShell script of the antivirus check on Windows (probe key `win.antivirus`).
 *
 * - Get-MpComputerStatus (MSFT_MpComputerStatus, learn.microsoft.com msft-mpcomputerstatus):
 *   property names kept as Microsoft spells them; dates as ISO UTC. It throws when a
 *   third-party product has disabled Defender (microsoft/CSS-Exchange#1514): the message is
 *   kept in `defenderError` and the parser falls back to SecurityCenter2.
 * - root/SecurityCenter2 AntiVirusProduct (displayName, productState, paths); the namespace
 *   does not exist on Windows Server, which is recorded as `available = false`.
 * - The names and paths of running processes, to tell a live product from a stale
 *   SecurityCenter2 entry left behind by an uninstall (zoicware/RemoveWindowsAI#244).
 * - Win32_OperatingSystem.ProductType (1 workstation, 2 domain controller, 3 server).
 * - The vendors' own registry values and definition files that hold the signature date and last
 *   full scan of third-party products (list and sources in windows-vendors.ts). Each value is
 *   printed with its RegistryValueKind name so the parser checks the type before the format; both
 *   registry views are read (64-bit products under SOFTWARE, 32-bit ones under WOW6432Node).
 */
import { PS_PRELUDE } from '../software/windows-common.js';
import { VENDOR_FILES, VENDOR_KEYS } from './windows-vendors.js';

const psStrings = (xs: readonly string[]): string => `@(${xs.map((x) => `'${x.replace(/'/g, "''")}'`).join(', ')})`;
const VENDOR_KEY_LIST = VENDOR_KEYS.map((k) => `@{ vendor = '${k.vendor}'; key = '${k.key}'; values = ${psStrings(k.values)} }`).join(', ');
const VENDOR_FILE_LIST = VENDOR_FILES.map((f) => `@{ vendor = '${f.vendor}'; path = '${f.path}'; names = ${psStrings(f.names)} }`).join(', ');

export const ANTIVIRUS_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.antivirus/1'; productType = $null; defender = $null; defenderError = $null; securityCenter = $null; running = @(); vendorRegistry = @(); vendorFiles = @() }
try { $doc.productType = [int](Get-CimInstance -ClassName Win32_OperatingSystem -Property ProductType).ProductType } catch { Add-MamoriError 'os' $_ }
try {
  $s = Get-MpComputerStatus
  $doc.defender = [ordered]@{
    AMServiceEnabled = [bool]$s.AMServiceEnabled
    AntivirusEnabled = [bool]$s.AntivirusEnabled
    AntispywareEnabled = [bool]$s.AntispywareEnabled
    RealTimeProtectionEnabled = [bool]$s.RealTimeProtectionEnabled
    OnAccessProtectionEnabled = [bool]$s.OnAccessProtectionEnabled
    AMRunningMode = $s.AMRunningMode
    AMProductVersion = $s.AMProductVersion
    AMEngineVersion = $s.AMEngineVersion
    AntivirusSignatureVersion = $s.AntivirusSignatureVersion
    AntivirusSignatureLastUpdated = ConvertTo-MamoriIso $s.AntivirusSignatureLastUpdated
    AntivirusSignatureAge = $s.AntivirusSignatureAge
    DefenderSignaturesOutOfDate = $s.DefenderSignaturesOutOfDate
    FullScanEndTime = ConvertTo-MamoriIso $s.FullScanEndTime
    FullScanAge = $s.FullScanAge
    QuickScanEndTime = ConvertTo-MamoriIso $s.QuickScanEndTime
    QuickScanAge = $s.QuickScanAge
    IsTamperProtected = $s.IsTamperProtected
    ProductStatus = $s.ProductStatus
  }
} catch { $doc.defenderError = [string]$_.Exception.Message }
try {
  $products = @()
  foreach ($p in @(Get-CimInstance -Namespace 'root/SecurityCenter2' -ClassName AntiVirusProduct)) {
    $products += ,([ordered]@{
      displayName = $p.displayName
      instanceGuid = $p.instanceGuid
      pathToSignedProductExe = $p.pathToSignedProductExe
      pathToSignedReportingExe = $p.pathToSignedReportingExe
      productExe = [Environment]::ExpandEnvironmentVariables([string]$p.pathToSignedProductExe)
      reportingExe = [Environment]::ExpandEnvironmentVariables([string]$p.pathToSignedReportingExe)
      productState = [int64]$p.productState
      timestamp = $p.timestamp
    })
  }
  $doc.securityCenter = [ordered]@{ available = $true; reason = $null; products = @($products) }
} catch {
  $doc.securityCenter = [ordered]@{ available = $false; reason = [string]$_.Exception.Message; products = @() }
}
try {
  $seen = @{}
  $running = @()
  foreach ($p in @(Get-CimInstance -ClassName Win32_Process -Property Name, ExecutablePath)) {
    $k = ([string]$p.Name + '|' + [string]$p.ExecutablePath).ToLowerInvariant()
    if ($seen.ContainsKey($k)) { continue }
    $seen[$k] = $true
    $running += ,([ordered]@{ name = $p.Name; path = $p.ExecutablePath })
  }
  $doc.running = @($running)
} catch { Add-MamoriError 'processes' $_ }
try {
  $vendorRegistry = @()
  $hklm = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
  foreach ($spec in @(${VENDOR_KEY_LIST})) {
    foreach ($prefix in @('SOFTWARE\\', 'SOFTWARE\\WOW6432Node\\')) {
      $path = $prefix + $spec.key
      try {
        $k = $hklm.OpenSubKey($path)
        if ($null -eq $k) { continue }
        $names = @($k.GetValueNames())
        $values = @()
        foreach ($n in $spec.values) {
          if ($names -notcontains $n) { continue }
          $kind = [string]$k.GetValueKind($n)
          $data = $k.GetValue($n, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
          if (@('String', 'ExpandString', 'DWord', 'QWord') -notcontains $kind) { $data = $null }
          $values += ,([ordered]@{ name = $n; kind = $kind; data = $data })
        }
        $k.Close()
        $vendorRegistry += ,([ordered]@{ vendor = $spec.vendor; key = ('HKLM\\' + $path); values = @($values) })
      } catch { Add-MamoriError 'vendor-registry' ('HKLM\\' + $path + ': ' + $_.Exception.Message) }
    }
  }
  $doc.vendorRegistry = @($vendorRegistry)
} catch { Add-MamoriError 'vendor-registry' $_ }
try {
  $vendorFiles = @()
  foreach ($spec in @(${VENDOR_FILE_LIST})) {
    $path = Join-Path $env:ProgramData $spec.path
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) { continue }
    $lines = @()
    foreach ($line in @(Get-Content -LiteralPath $path)) {
      foreach ($n in $spec.names) { if ([string]$line -like ($n + '=*')) { $lines += [string]$line } }
    }
    $vendorFiles += ,([ordered]@{ vendor = $spec.vendor; path = $path; lines = @($lines) })
  }
  $doc.vendorFiles = @($vendorFiles)
} catch { Add-MamoriError 'vendor-files' $_ }
Write-MamoriJson $doc`;
