/**
 * PowerShell script of the services check on Windows (probe key `win.services`).
 *
 * - Services: Win32_Service Name (the service key name, the same on every display language; the
 *   DisplayName is localised and not printed), State and StartMode (the class's documented string
 *   values "Running"/"Stopped", "Auto"/"Manual"/"Disabled"; learn.microsoft.com win32-service),
 *   for services that run or start automatically.
 * - Optional features: Get-WindowsOptionalFeature -Online (DISM API; needs the elevation the agent
 *   has) FeatureName of those whose State is Enabled, e.g. SMB1Protocol, TelnetClient, TFTP
 *   (learn.microsoft.com get-windowsoptionalfeature).
 */
import { PS_PRELUDE } from '../software/windows-common.js';

export const SERVICES_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.services/1'; services = $null; features = $null }
try {
  $services = @()
  foreach ($s in @(Get-CimInstance -ClassName Win32_Service)) {
    if ($s.State -ne 'Running' -and $s.StartMode -ne 'Auto') { continue }
    $services += ,([ordered]@{ name = [string]$s.Name; state = [string]$s.State; startMode = [string]$s.StartMode })
  }
  $doc.services = $services
} catch { Add-MamoriError 'services' $_ }
try {
  $features = @()
  foreach ($f in @(Get-WindowsOptionalFeature -Online)) { if ([string]$f.State -eq 'Enabled') { $features += ,([string]$f.FeatureName) } }
  $doc.features = $features
} catch { Add-MamoriError 'features' $_ }
Write-MamoriJson $doc`;
