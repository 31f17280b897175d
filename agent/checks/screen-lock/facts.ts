/** Facts of the screen-lock check, per logged-on graphical user. */
import { z } from 'zod';

export const LockSession = z.object({
  user: z.string(),
  desktop: z.enum(['gnome', 'kde', 'xfce', 'windows', 'other']),
  lockEnabled: z.boolean().describe('The session locks (asks for the password) after idle time'),
  idleToLockSeconds: z.number().nullable().describe('Effective seconds of inactivity until the session is locked; null = never'),
  enforced: z.boolean().describe('The values come from an administrator policy the user cannot change (GPO, dconf lock, kiosk [$i])'),
  source: z
    .string()
    .describe(
      'The settings that decided it, by their own names and values (the same in every language), e.g. "InactivityTimeoutSecs=900", "Control Panel\\Desktop ScreenSaveTimeOut=600", "gsettings (dconf lock: idle-delay)"; "-" is a value not set. A DelayLockInterval (lock when the display turns off) is listed but not counted: the power plan display timeout is not read',
    ),
});
export type LockSession = z.infer<typeof LockSession>;

export const ScreenLockFacts = z.object({
  sessions: z.array(LockSession).describe('Logged-on graphical users; empty when nobody is logged on'),
  machineInactivityLimitSeconds: z.number().nullable().describe('Windows "Interactive logon: Machine inactivity limit"; null when not set or not Windows'),
});
export type ScreenLockFacts = z.infer<typeof ScreenLockFacts>;
