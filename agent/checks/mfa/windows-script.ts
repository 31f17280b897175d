/**
 * PowerShell script of the multi-factor check on Windows (probe key `win.mfa`). Registry values and
 * signatures only.
 *
 * - Smart card required: HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System scforceoption
 *   (DWORD 1; "Interactive logon: Require Windows Hello for Business or smart card", learn.microsoft.com).
 * - Windows Hello for Business: HKLM\SOFTWARE\Policies\Microsoft\PassportForWork Enabled (DWORD 1;
 *   the "Use Windows Hello for Business" policy).
 * - Credential providers: the CLSID subkeys of HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Authentication\Credential Providers
 *   with their default value (a name), the DLL of HKLM\SOFTWARE\Classes\CLSID\{…}\InprocServer32 and the
 *   subject of its Authenticode signer (Get-AuthenticodeSignature checks catalog signatures too), so
 *   Microsoft's own providers are told apart from other vendors' without a list of GUIDs.
 * - Excluded providers: HKLM\SOFTWARE\Policies\Microsoft\Windows\System ExcludedCredentialProviders
 *   (REG_SZ, comma-separated CLSIDs; the "Exclude credential providers" policy).
 */
import { PS_PRELUDE } from '../software/windows-common.js';

export const MFA_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.mfa/1'; scforceoption = $null; helloForBusiness = $null; excluded = $null; providers = $null }
try {
  $doc.scforceoption = Get-MamoriRegValue 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System' 'scforceoption'
  $doc.helloForBusiness = Get-MamoriRegValue 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\PassportForWork' 'Enabled'
  $ex = Get-MamoriRegValue 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\System' 'ExcludedCredentialProviders'
  $doc.excluded = if ($null -eq $ex) { $null } else { [string]$ex }
} catch { Add-MamoriError 'policies' $_ }
try {
  $providers = @()
  foreach ($k in @(Get-ChildItem -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Authentication\\Credential Providers')) {
    $clsid = [string]$k.PSChildName
    $dll = Get-MamoriRegValue ('HKEY_LOCAL_MACHINE\\SOFTWARE\\Classes\\CLSID\\' + $clsid + '\\InprocServer32') '(default)'
    $signer = $null
    if ($dll) {
      $path = [Environment]::ExpandEnvironmentVariables([string]$dll)
      if (Test-Path -LiteralPath $path) { $sig = Get-AuthenticodeSignature -LiteralPath $path; if ($sig.SignerCertificate) { $signer = [string]$sig.SignerCertificate.Subject } }
    }
    $providers += ,([ordered]@{ clsid = $clsid; name = [string]$k.GetValue(''); dll = if ($dll) { [string]$dll } else { $null }; signer = $signer })
  }
  $doc.providers = $providers
} catch { Add-MamoriError 'providers' $_ }
Write-MamoriJson $doc`;
