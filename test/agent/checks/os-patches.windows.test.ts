/**
 * Windows Update dates and classifications (agent/checks/os-patches/windows-*.ts): which
 * history entries count as "an update was installed", and how COM dates documented as UTC are
 * read. The replayed machine is test/fixtures/replay/windows/w11-24h2-ent-ja-cu-failing.
 */
import { describe, expect, it } from 'vitest';
import { isQualityUpdate, lastQualityUpdate } from '../../../agent/checks/os-patches/windows-parse.js';
import { CLASSIFICATION, OS_PATCHES_SCRIPT, WUA_SEARCH_SCRIPT } from '../../../agent/checks/os-patches/windows-script.js';
import { comDateUtc } from '../../../agent/checks/software/windows-common.js';

const entry = (Date: string, ResultCode: number, CategoryIDs: string[], Operation = 1) => ({ Date, Operation, ResultCode, Title: null, UpdateID: null, CategoryIDs });

describe('COM dates the Windows Update Agent documents as UTC', () => {
  it('are read as UTC whatever the zone of the PC or of the agent', () => {
    expect(comDateUtc('2026-11-30T23:30:00.0000000')).toBe('2026-11-30T23:30:00.000Z');
    expect(comDateUtc('2026-11-30T23:30:00.1234567')).toBe('2026-11-30T23:30:00.123Z');
  });
  it('a text with a zone, garbage, empty or the OLE zero date is not a date', () => {
    expect(comDateUtc('2026-11-30T23:30:00Z')).toBeNull();
    expect(comDateUtc('30/11/2026 23:30')).toBeNull();
    expect(comDateUtc(null)).toBeNull();
    expect(comDateUtc('1899-12-30T00:00:00.0000000')).toBeNull();
  });
  it('the scripts print those dates as wall-clock text, never through ToUniversalTime()', () => {
    expect(WUA_SEARCH_SCRIPT).toContain('lastOnlineSearchAt = ConvertTo-MamoriWallClock (New-Object -ComObject Microsoft.Update.AutoUpdate).Results.LastSearchSuccessDate');
    expect(WUA_SEARCH_SCRIPT).toContain('LastDeploymentChangeTime = ConvertTo-MamoriWallClock $u.LastDeploymentChangeTime');
    expect(OS_PATCHES_SCRIPT).toContain('Date = ConvertTo-MamoriWallClock $h.Date');
    expect(`${OS_PATCHES_SCRIPT}\n${WUA_SEARCH_SCRIPT}`).not.toMatch(/ConvertTo-MamoriIso \$(u|h)\./);
  });
});

describe('which updates count as installed for PATCH-005', () => {
  it('security and critical updates count; definition updates never, even when also tagged otherwise', () => {
    expect(isQualityUpdate([CLASSIFICATION.securityUpdates.toUpperCase()])).toBe(true);
    expect(isQualityUpdate([CLASSIFICATION.criticalUpdates])).toBe(true);
    expect(isQualityUpdate([CLASSIFICATION.definitionUpdates, '8c3fcc84-7410-4a95-8b89-a166a0190486'])).toBe(false);
    expect(isQualityUpdate([CLASSIFICATION.definitionUpdates, CLASSIFICATION.securityUpdates])).toBe(false);
    // "Updates" (cd5ffd1e…) and an entry without categories are not counted
    expect(isQualityUpdate(['cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83'])).toBe(false);
    expect(isQualityUpdate([])).toBe(false);
  });
  it('the newest succeeded installation, not the newest entry, not a failure, not an uninstallation', () => {
    const history = {
      totalCount: 5,
      entries: [
        entry('2026-12-01T00:41:12.0000000', 2, [CLASSIFICATION.definitionUpdates]),
        entry('2026-11-20T00:00:00.0000000', 2, [CLASSIFICATION.securityUpdates], 2),
        entry('2026-11-13T03:20:04.0000000', 4, [CLASSIFICATION.securityUpdates]),
        entry('2026-08-14T04:12:37.0000000', 2, [CLASSIFICATION.securityUpdates]),
        entry('2026-07-10T04:00:00.0000000', 2, [CLASSIFICATION.securityUpdates]),
      ],
    };
    expect(lastQualityUpdate(history)?.at).toBe('2026-08-14T04:12:37.000Z');
    expect(lastQualityUpdate({ totalCount: 1, entries: [history.entries[0]!] })).toBeNull();
  });
});
