/**
 * PowerShell script of the logging check on Windows (probe key `win.logging`).
 *
 * - Advanced audit policy: `auditpol /backup /file:FILE` (learn.microsoft.com
 *   windows-server/administration/windows-commands/auditpol-backup) writes every subcategory as a
 *   CSV line `Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion
 *   Setting,Setting Value`, where Setting Value is a number (0 none, 1 success, 2 failure, 3 both;
 *   the audit.csv format Group Policy reads). `auditpol /get /r` is not used: its CSV has no
 *   Setting Value column and its Inclusion Setting is localised text ("成功および失敗"). The
 *   subcategory is told by its GUID, the same on every display language. Like secedit, auditpol
 *   runs under 'Continue' with every stream discarded, and only its exit code is read.
 * - Security log: Get-WinEvent -ListLog Security MaximumSizeInBytes and LogMode (EventLogMode
 *   Circular / AutoBackup / Retain; learn.microsoft.com System.Diagnostics.Eventing.Reader.EventLogConfiguration).
 * - Log service: Win32_Service EventLog State and StartMode.
 */
import { PS_PRELUDE } from '../software/windows-common.js';

export const LOGGING_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.logging/1'; auditBackup = $null; securityLog = $null; eventLogService = $null }
try {
  $file = Join-Path $env:TEMP ('mamori-auditpol-' + [guid]::NewGuid().ToString('N') + '.csv')
  try {
    $ErrorActionPreference = 'Continue'
    & (Join-Path $env:SystemRoot 'System32\\auditpol.exe') /backup ('/file:' + $file) *> $null
    $code = $LASTEXITCODE
    $ErrorActionPreference = 'Stop'
    if ($code -ne 0) { throw ('auditpol /backup exited with code ' + $code) }
    $doc.auditBackup = [System.IO.File]::ReadAllText($file)
  } finally {
    $ErrorActionPreference = 'Stop'
    if (Test-Path -LiteralPath $file) { Remove-Item -LiteralPath $file -Force }
  }
} catch { Add-MamoriError 'auditpol' $_ }
try {
  $log = Get-WinEvent -ListLog Security
  $doc.securityLog = [ordered]@{ MaximumSizeInBytes = [int64]$log.MaximumSizeInBytes; LogMode = [string]$log.LogMode; IsEnabled = [bool]$log.IsEnabled }
} catch { Add-MamoriError 'security-log' $_ }
try {
  $svc = @(Get-CimInstance -ClassName Win32_Service -Filter "Name = 'EventLog'")
  $doc.eventLogService = if ($svc.Count -gt 0) { [ordered]@{ State = [string]$svc[0].State; StartMode = [string]$svc[0].StartMode } } else { $null }
} catch { Add-MamoriError 'eventlog-service' $_ }
Write-MamoriJson $doc`;
