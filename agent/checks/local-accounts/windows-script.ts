/**
 * PowerShell script of the local-accounts check on Windows (probe key `win.local-accounts`):
 * Get-LocalUser (Microsoft.PowerShell.LocalAccounts; learn.microsoft.com get-localuser) Name, SID,
 * Enabled and LastLogon (a local DateTime, null when the account never signed in on this PC).
 * LastLogon is kept per PC and not replicated, which is what a local account needs.
 */
import { PS_PRELUDE } from '../software/windows-common.js';

export const LOCAL_ACCOUNTS_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.local-accounts/1'; users = $null }
try {
  $users = @()
  foreach ($u in @(Get-LocalUser)) {
    $users += ,([ordered]@{ Name = [string]$u.Name; SID = [string]$u.SID; Enabled = [bool]$u.Enabled; LastLogon = ConvertTo-MamoriIso $u.LastLogon })
  }
  $doc.users = $users
} catch { Add-MamoriError 'users' $_ }
Write-MamoriJson $doc`;
