/** Facts of the logging check: sign-ins recorded, the log service running, the Security log large enough. */
import { z } from 'zod';

export const LoggingFacts = z.object({
  logonEventsRecorded: z.boolean().describe('Sign-ins and sign-outs are recorded and kept: Windows advanced audit policy Logon with success and failure and Logoff with success; Linux the journal kept on disk (Storage=persistent, or auto with /var/log/journal present), or auditd or rsyslog running'),
  logonEventsSource: z.string().describe('What records them, e.g. "auditpol Logon=成功と失敗 Logoff=成功" or "journald Storage=auto (/var/log/journal あり)"'),
  logServiceRunning: z.boolean().describe('The log service runs: Windows EventLog service Running; Linux systemd-journald active'),
  securityLogMaxMB: z.number().nullable().describe('Maximum size of the Windows Security log in MiB (Get-WinEvent -ListLog Security MaximumSizeInBytes); null on Linux'),
  securityLogMode: z.string().nullable().describe('What the Security log does when full: "Circular" (overwrites the oldest), "AutoBackup" (archives and starts anew), "Retain" (stops); null on Linux'),
});
export type LoggingFacts = z.infer<typeof LoggingFacts>;
