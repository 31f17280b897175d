/**
 * The three console roles and the 課 scope, checked against a table written out by hand — not
 * taken from `ROLE_PERMISSIONS` or `can()` of the code under test:
 *   admin     policy, 媒体管理台帳, approvals, accounts: everything;
 *   helpdesk  PCs, violations, scans, media registration and loans at the desk, 例外措置
 *             requests; not the policy (its thresholds are sensitive configuration, 003 第12章10),
 *             not reports, the audit trail, accounts or forwarders;
 *   auditor   read-only: violations, PCs, policy, media, 例外措置, reports, the console audit trail.
 */
import { describe, expect, it } from 'vitest';
import { actingAs, can, inScope, PERMISSIONS, requirePermission, requireScope, ROLES, scopeDepartments } from '../../src/collector/console/authz.js';
import type { Permission, Principal, Role } from '../../src/collector/console/authz.js';
import { ConsoleError } from '../../src/collector/console/errors.js';

const A = 'admin';
const H = 'helpdesk';
const U = 'auditor';
/** permission → the roles that hold it. */
const EXPECTED: Record<Permission, Role[]> = {
  'violations.read': [A, H, U],
  'violations.annotate': [A, H],
  'pcs.read': [A, H, U],
  'pcs.assign': [A],
  'scan.request': [A, H],
  'policy.read': [A, U],
  'policy.write': [A],
  'media.read': [A, H, U],
  'media.register': [A, H],
  'media.lend': [A, H],
  'media.import': [A],
  'exceptions.read': [A, H, U],
  'exceptions.request': [A, H],
  'exceptions.decide': [A],
  'reports.read': [A, U],
  'audit.read': [A, U],
  'users.manage': [A],
  'forwarders.manage': [A],
  'updates.rollout': [A],
  'stream.watch': [A, H, U],
};

function principal(role: Role, departments: string[] = []): Principal {
  return { userId: `u-${role}`, username: `${role}-1`, displayName: role, role, departments, via: 'session', mustChangePassword: false };
}

/** What a refusal names, in both languages (the answer carries each). */
const MEDIUM = { ja: '媒体', en: 'medium' };
const EXCEPTION = { ja: '例外措置', en: 'exception' };

function thrown(fn: () => unknown): ConsoleError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof ConsoleError) return err;
    throw err;
  }
}

describe('role × permission, as written by hand', () => {
  it('the table names every permission and every role', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...PERMISSIONS].sort());
    expect([...ROLES].sort()).toEqual([A, U, H].sort());
  });

  for (const role of [A, H, U] as const) {
    it(`${role}: can() and requirePermission() answer as the table says`, () => {
      const wrong: string[] = [];
      for (const [permission, holders] of Object.entries(EXPECTED) as [Permission, Role[]][]) {
        const allowed = holders.includes(role);
        if (can(role, permission) !== allowed) wrong.push(`can(${role}, ${permission}) = ${!allowed}`);
        const err = thrown(() => requirePermission(principal(role), permission));
        if (allowed && err) wrong.push(`requirePermission(${role}, ${permission}) threw ${err.message}`);
        if (!allowed && (err?.status !== 403 || err.code !== 'FORBIDDEN')) wrong.push(`requirePermission(${role}, ${permission}) did not refuse with 403`);
      }
      expect(wrong).toEqual([]);
    });
  }

  it('a refusal names the role in Japanese and the permission', () => {
    const err = thrown(() => requirePermission(principal(H), 'policy.read'))!;
    expect(err.text.ja).toBe('役割「ヘルプデスク」には許可されていない操作です (policy.read)');
    expect(err.text.en).toBe('the helpdesk role may not do this (policy.read)');
  });
});

describe('課 scope', () => {
  it('an organisation-wide account sees every 課 and records with no 課', () => {
    const p = principal(U);
    for (const d of ['税務課', '市民課', null, undefined]) expect(inScope(p, d)).toBe(true);
  });

  it('a scoped account sees its own 課 only: not another 課, not records without a 課', () => {
    const p = principal(H, ['税務課', '収納課']);
    expect(inScope(p, '税務課')).toBe(true);
    expect(inScope(p, '収納課')).toBe(true);
    expect(inScope(p, '市民課')).toBe(false);
    expect(inScope(p, null)).toBe(false);
    expect(inScope(p, undefined)).toBe(false);
    expect(inScope(p, '')).toBe(false);
  });

  it('requireScope refuses another 課 with 403 for the acting account, and lets its own 課 through', async () => {
    await actingAs(principal(A, ['税務課']), async () => {
      expect(thrown(() => requireScope('税務課', MEDIUM))).toBeUndefined();
      const other = thrown(() => requireScope('市民課', MEDIUM));
      expect(other?.status).toBe(403);
      expect(other?.message).toBe('媒体: 担当外の課のデータです (市民課)');
      expect(other?.text.en).toBe('medium: data of a department outside your scope (市民課)');
      const none = thrown(() => requireScope(null, EXCEPTION));
      expect(none?.status).toBe(403);
      expect(none?.message).toBe('例外措置: 担当外の課のデータです (課の割り当てなし)');
      expect(none?.text.en).toMatch(/^exception: data of a department outside your scope \(/);
    });
    await actingAs(principal(A), async () => {
      expect(thrown(() => requireScope('市民課', MEDIUM))).toBeUndefined();
      expect(thrown(() => requireScope(null, MEDIUM))).toBeUndefined();
    });
  });

  it('work outside a request (housekeeping, local admin commands) has no acting account and no scope', async () => {
    expect(thrown(() => requireScope('市民課', MEDIUM))).toBeUndefined();
    expect(scopeDepartments()).toBeUndefined();
    // The acting account ends with its request.
    await actingAs(principal(H, ['税務課']), async () => undefined);
    expect(scopeDepartments()).toBeUndefined();
    expect(thrown(() => requireScope('市民課', MEDIUM))).toBeUndefined();
  });

  it('scopeDepartments gives the 課 of a scoped account, nothing for an organisation-wide one, and follows nested requests', async () => {
    const seen: (string[] | undefined)[] = [];
    const answer = await actingAs(principal(H, ['税務課']), async () => {
      seen.push(scopeDepartments());
      await new Promise((res) => setImmediate(res));
      seen.push(scopeDepartments());
      await actingAs(principal(A), async () => void seen.push(scopeDepartments()));
      seen.push(scopeDepartments());
      return 'done';
    });
    expect(answer).toBe('done');
    expect(seen).toEqual([['税務課'], ['税務課'], undefined, ['税務課']]);
  });
});
