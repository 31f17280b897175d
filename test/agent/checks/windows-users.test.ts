/**
 * Who is a user on Windows (agent/checks/software/windows-common.ts): the loaded hives of every
 * SID authority, kept as people when they own an explorer.exe or hold an interactive logon
 * session (Win32_LogonSession LogonType 2/10/11/12 via Win32_LoggedOnUser), never the
 * well-known service accounts. Replayed machines: test/fixtures/replay/windows/.
 */
import { describe, expect, it } from 'vitest';
import { PS_LOADED_USERS, PS_LOGON_SESSIONS, SERVICE_SID, interactiveSids } from '../../../agent/checks/software/windows-common.js';
import { SCREEN_LOCK_SCRIPT } from '../../../agent/checks/screen-lock/windows-script.js';
import { SOFTWARE_SCRIPT } from '../../../agent/checks/software/windows-script.js';

const ENTRA = 'S-1-12-1-3454143264-1156213542-2796435642-2381069874';
const DOMAIN = 'S-1-5-21-1180699209-877415012-3182924384-1104';
const hives = [
  { sid: 'S-1-5-18', name: 'NT AUTHORITY\\SYSTEM' },
  { sid: 'S-1-5-19', name: 'NT AUTHORITY\\LOCAL SERVICE' },
  { sid: 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464', name: 'NT SERVICE\\TrustedInstaller' },
  { sid: ENTRA, name: 'AzureAD\\SasakiShinichi' },
  { sid: DOMAIN, name: 'CITY\\山田太郎' },
];

describe('interactive users of every SID authority', () => {
  it('an Entra ID account signed in at the console is a user, found by its logon session alone', () => {
    const got = interactiveSids(hives, [], [{ logonType: 2, domain: 'AzureAD', name: 'sasakishinichi' }]);
    expect([...got!]).toEqual([ENTRA]);
  });
  it('a remote desktop session (LogonType 10) or an explorer.exe owner is a user too', () => {
    expect([...interactiveSids(hives, null, [{ logonType: 10, domain: 'CITY', name: '山田太郎' }])!]).toEqual([DOMAIN]);
    expect([...interactiveSids(hives, [ENTRA.toLowerCase(), DOMAIN], null)!].sort()).toEqual([DOMAIN, ENTRA].sort());
  });
  it('service accounts are never users, even if a session names them', () => {
    expect(interactiveSids(hives, ['S-1-5-18'], [{ logonType: 2, domain: 'NT AUTHORITY', name: 'SYSTEM' }])!.size).toBe(0);
    for (const h of hives.slice(0, 3)) expect(SERVICE_SID.test(h.sid)).toBe(true);
    for (const sid of [ENTRA, DOMAIN, 'S-1-5-21-1-2-3-500']) expect(SERVICE_SID.test(sid)).toBe(false);
  });
  it('with neither explorer owners nor sessions readable the caller decides (null)', () => {
    expect(interactiveSids(hives, null, null)).toBeNull();
  });
});

describe('the user listing in the scripts', () => {
  it('lists hives of any SID authority, not only S-1-5-21', () => {
    expect(PS_LOADED_USERS).not.toContain('S-1-5-21');
    expect(PS_LOADED_USERS).toContain("'^S-1-[0-9]+(-[0-9]+)+$'");
    expect(SOFTWARE_SCRIPT).toContain(PS_LOADED_USERS);
  });
  it('screen lock reads the interactive logon sessions by their documented LogonType numbers', () => {
    expect(SCREEN_LOCK_SCRIPT).toContain(PS_LOGON_SESSIONS);
    expect(PS_LOGON_SESSIONS).toContain("Win32_LogonSession -Filter 'LogonType = 2 OR LogonType = 10 OR LogonType = 11 OR LogonType = 12'");
    expect(PS_LOGON_SESSIONS).toContain('Get-CimInstance -ClassName Win32_LoggedOnUser');
  });
});
