<#
.SYNOPSIS
  Silent install / uninstall of the mamori agent (守り) on a Windows PC, for sites that push a
  script (remote PowerShell, a logon/startup script, an RMM tool) instead of distributing the
  MSI through GPO or a software-distribution server. Never prompts.

.DESCRIPTION
  Runs the same MSI with the same properties as
    msiexec /i mamori-agent-<version>-x64.msi /qn COLLECTOR=… TOKEN=… CA_PIN=… SEGMENT=…
  so there is one install logic; then checks that the mamori-agent service is running.
  When the collector can be reached the PC enrolls during the install; a refused token or a
  wrong CA pin fails it (msiexec 1603, rolled back) with the reason in Japanese. Offline PCs
  install and enroll later. The token goes to the MSI as a file (TOKEN_FILE), never on a
  command line.
  Exit code: 0 installed (or removed), 3010 done but Windows wants a restart, anything else
  is the msiexec error (details in the log named on screen).

.EXAMPLE
  powershell -NoProfile -ExecutionPolicy Bypass -File install.ps1 `
    -Collector wss://collector.example.lg.jp:8470/agent -TokenFile C:\Deploy\token.txt -CaPin AB:CD:… -Segment lgwan

.EXAMPLE
  powershell -NoProfile -ExecutionPolicy Bypass -File install.ps1 -Uninstall
#>
[CmdletBinding(DefaultParameterSetName = 'Install')]
param(
  [Parameter(ParameterSetName = 'Install')] [string] $Collector = '',
  [Parameter(ParameterSetName = 'Install')] [string] $Token = '',
  # A file holding the token (first line): keeps it out of PowerShell transcripts and RMM job logs.
  [Parameter(ParameterSetName = 'Install')] [string] $TokenFile = '',
  [Parameter(ParameterSetName = 'Install')] [string] $CaPin = '',
  [Parameter(ParameterSetName = 'Install')] [ValidateSet('', 'mynumber', 'lgwan', 'internet')] [string] $Segment = '',
  # The MSI; default: the newest mamori-agent-*-x64.msi next to this script.
  [Parameter(ParameterSetName = 'Install')] [string] $Msi = '',
  [Parameter(ParameterSetName = 'Uninstall', Mandatory = $true)] [switch] $Uninstall
)
$ErrorActionPreference = 'Stop'
$ServiceName = 'mamori-agent'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  Write-Error '管理者として実行してください / run as Administrator (or SYSTEM)'
  exit 1
}

$log = Join-Path $env:TEMP ("mamori-agent-{0}-{1:yyyyMMdd-HHmmss}.log" -f $PSCmdlet.ParameterSetName.ToLower(), (Get-Date))

function Invoke-Msiexec([string[]] $Arguments) {
  # Start-Process joins the arguments with spaces; every value is quoted.
  $p = Start-Process -FilePath (Join-Path $env:SystemRoot 'System32\msiexec.exe') -ArgumentList $Arguments -Wait -PassThru -WindowStyle Hidden
  return $p.ExitCode
}

if ($Uninstall) {
  # The product is found by its registered name; the MSI's own uninstall stops the service and
  # tells the collector ("uninstalling") before the files go. C:\ProgramData\mamori is kept.
  # Every entry is removed: MSIs built before same-version upgrades were allowed could leave
  # two "mamori agent" products side by side.
  $entries = @(Get-ChildItem 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall' |
    Get-ItemProperty | Where-Object { $_.DisplayName -eq 'mamori agent' })
  if ($entries.Count -eq 0) { Write-Output 'mamori agent is not installed / インストールされていません'; exit 0 }
  $worst = 0
  foreach ($entry in $entries) {
    $code = Invoke-Msiexec @('/x', $entry.PSChildName, '/qn', '/norestart', '/l*v', "`"$log`"")
    Write-Output "msiexec /x $($entry.PSChildName) ($($entry.DisplayVersion)): exit $code (log: $log)"
    if ($code -ne 0 -and $code -ne 3010) { $worst = $code } elseif ($code -eq 3010 -and $worst -eq 0) { $worst = 3010 }
  }
  exit $worst
}

if (-not $Msi) {
  # Newest by version, not by name: "0.10.0" sorts before "0.9.0" as text.
  $Msi = Get-ChildItem -Path $PSScriptRoot -Filter 'mamori-agent-*-x64.msi' |
    Where-Object { $_.Name -match '^mamori-agent-(\d+(\.\d+){1,3})-x64\.msi$' } |
    Sort-Object { [version]($_.Name -replace '^mamori-agent-(.+)-x64\.msi$', '$1') } |
    Select-Object -Last 1 -ExpandProperty FullName
}
if (-not $Msi -or -not (Test-Path -LiteralPath $Msi)) {
  Write-Error 'MSI not found (give -Msi PATH) / MSI が見つかりません'
  exit 1
}
if ($Collector -and -not $Collector.StartsWith('wss://')) {
  Write-Error "-Collector ${Collector}: the agent speaks only wss:// (TLS) / wss:// の URL を指定してください"
  exit 1
}

if ($TokenFile -and $Token) { Write-Error 'give -Token or -TokenFile, not both / どちらか一方を指定してください'; exit 1 }
# The token reaches the MSI only as a file (TOKEN_FILE), never on msiexec's command line: a copy
# in a folder only SYSTEM and Administrators can read (SIDs: group names are localised), deleted
# after the install.
$tokenDir = $null
if ($TokenFile -or $Token) {
  if ($TokenFile) { $Token = (Get-Content -LiteralPath $TokenFile -TotalCount 1).Trim() }
  $tokenDir = Join-Path $env:SystemRoot ('Temp\mamori-install-' + [guid]::NewGuid().ToString('N'))
  New-Item -ItemType Directory -Path $tokenDir | Out-Null
  & icacls.exe $tokenDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
  Set-Content -LiteralPath (Join-Path $tokenDir 'token.txt') -Value $Token -Encoding ascii -NoNewline
  $Token = ''
}
$arguments = @('/i', "`"$((Resolve-Path -LiteralPath $Msi).Path)`"", '/qn', '/norestart', '/l*v', "`"$log`"")
# Empty values are left out: an upgrade without settings keeps C:\ProgramData\mamori\agent.yml.
foreach ($pair in @(@('COLLECTOR', $Collector), @('TOKEN_FILE', $(if ($tokenDir) { Join-Path $tokenDir 'token.txt' } else { '' })), @('CA_PIN', $CaPin), @('SEGMENT', $Segment))) {
  if ($pair[1]) { $arguments += "$($pair[0])=`"$($pair[1])`"" }
}
try { $code = Invoke-Msiexec $arguments } finally { if ($tokenDir) { Remove-Item -LiteralPath $tokenDir -Recurse -Force -ErrorAction SilentlyContinue } }
# Written by `mamori agent enroll` (the MSI's EnrollAgent step) and by the service: why this PC is not enrolled.
$enrollment = $null
$statusFile = Join-Path $env:ProgramData 'mamori.enrollment.json'
if (Test-Path -LiteralPath $statusFile) { $enrollment = Get-Content -LiteralPath $statusFile -Raw -Encoding UTF8 | ConvertFrom-Json }
if ($code -ne 0 -and $code -ne 3010) {
  if ($enrollment -and $enrollment.kind -ne 'unreachable') {
    # The collector refused the token or the pin did not match: the MSI rolled back, nothing stays installed.
    Write-Error "登録できませんでした: $($enrollment.reason) / enrollment refused, nothing installed (msiexec $code; log: $log)"
  } else {
    Write-Error "msiexec failed with exit code $code; see $log / インストールに失敗しました"
  }
  exit $code
}

# The MSI starts the service; wait up to 30 s for it to report Running.
$service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if (-not $service) { Write-Error "service $ServiceName missing after install; see $log"; exit 1 }
try { $service.WaitForStatus('Running', [TimeSpan]::FromSeconds(30)) } catch {
  Write-Error "service $ServiceName is $($service.Status); see C:\ProgramData\mamori\logs"
  exit 1
}
if (Test-Path -LiteralPath (Join-Path $env:ProgramData 'mamori\identity.json')) {
  Write-Output "mamori agent installed, enrolled and running / インストール完了 (収集サーバーに登録済み, log: $log)"
} else {
  Write-Output "mamori agent installed and running / インストール完了。収集サーバーに接続できないため未登録です。接続できるようになると自動で登録します (log: $log)"
}
exit $code
