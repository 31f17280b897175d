/**
 * PowerShell script of the sign-in check on Windows (probe key `win.sign-in`).
 *
 * - Password and lockout policy in force: `secedit /export /cfg FILE /areas SECURITYPOLICY`
 *   (learn.microsoft.com windows-server/administration/windows-commands/secedit-export). The file
 *   is a security template written in UTF-16LE ("Unicode=yes" in its [Unicode] section), so it is
 *   read with [Text.Encoding]::Unicode; its [System Access] keys (MinimumPasswordLength,
 *   PasswordComplexity, LockoutBadCount, MaximumPasswordAge, PasswordHistorySize) are the same on
 *   every display language, which is why the template is used and not `net accounts`, whose labels
 *   are localised. The whole file text is printed and parsed by windows-parse.ts.
 *   secedit's own console text is localised and not read: only its exit code. Windows PowerShell
 *   5.1 turns a native program's stderr into an ErrorRecord, which $ErrorActionPreference = 'Stop'
 *   makes terminating (about_Redirection; PowerShell/PowerShell#3996), so the call runs under
 *   'Continue' with every stream discarded.
 * - Automatic logon: HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon AutoAdminLogon
 *   (REG_SZ "1" = on) and whether a DefaultPassword value exists (learn.microsoft.com
 *   troubleshoot/windows-server/user-profiles-and-logon/turn-on-automatic-logon). The password
 *   itself is never read.
 */
import { PS_PRELUDE } from '../software/windows-common.js';

export const SIGN_IN_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.sign-in/1'; securityTemplate = $null; winlogon = $null }
try {
  $cfg = Join-Path $env:TEMP ('mamori-secedit-' + [guid]::NewGuid().ToString('N') + '.inf')
  try {
    $ErrorActionPreference = 'Continue'
    & (Join-Path $env:SystemRoot 'System32\\secedit.exe') /export /cfg $cfg /areas SECURITYPOLICY /quiet *> $null
    $code = $LASTEXITCODE
    $ErrorActionPreference = 'Stop'
    if ($code -ne 0) { throw ('secedit /export exited with code ' + $code) }
    $doc.securityTemplate = [System.IO.File]::ReadAllText($cfg, [System.Text.Encoding]::Unicode)
  } finally {
    $ErrorActionPreference = 'Stop'
    if (Test-Path -LiteralPath $cfg) { Remove-Item -LiteralPath $cfg -Force }
  }
} catch { Add-MamoriError 'secedit' $_ }
try {
  $winlogon = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon'
  $names = @((Get-Item -LiteralPath ('Registry::' + $winlogon)).GetValueNames())
  $auto = Get-MamoriRegValue $winlogon 'AutoAdminLogon'
  $doc.winlogon = [ordered]@{
    AutoAdminLogon = if ($null -eq $auto) { $null } else { [string]$auto }
    DefaultPasswordPresent = [bool]($names -contains 'DefaultPassword')
  }
} catch { Add-MamoriError 'winlogon' $_ }
Write-MamoriJson $doc`;
