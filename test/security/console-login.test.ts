/**
 * Attacks on the console's login and HTTP surface, performed against a real `mamori collector`
 * process over HTTPS: parallel password guessing from one and from many addresses, the answer
 * that tells a locked or unknown account apart, sessions and tokens that outlive a password
 * change, weak passwords, missing security headers, `Origin: null`, a negative page size, and
 * unauthenticated uploads that the collector would read into memory.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectorProc } from '../helpers/processes.js';
import { CLI, startCollectorProc, startProc, tempDir } from '../helpers/processes.js';
import { accountOf, adminOf, ConsoleClient } from './console-client.js';

const SAME_ANSWER = { error: 'LOGIN_FAILED', message: 'ユーザー名またはパスワードが違います', messageEn: 'wrong user name or password' };

let collector: CollectorProc;
let admin: ConsoleClient;

beforeAll(async () => {
  collector = await startCollectorProc(tempDir('sec-console-login'));
  admin = await adminOf(collector);
}, 60_000);

afterAll(async () => {
  await collector?.stop();
});

async function lockedUntil(username: string): Promise<string | null> {
  const users = (await admin.request('GET', '/api/v1/users')).json.users as { username: string; lockedUntil: string | null }[];
  return users.find((u) => u.username === username)!.lockedUntil;
}

describe('login lockout', () => {
  it('locks an account when 15 wrong passwords arrive at once from one address', async () => {
    const { password } = await accountOf(collector, admin, 'kazuki', 'helpdesk');
    const guesser = ConsoleClient.of(collector, '127.0.0.5');
    const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => guesser.login('kazuki', `wrong-guess-${i}`)));
    expect(answers.every((a) => a.status === 401)).toBe(true);
    expect(await lockedUntil('kazuki')).not.toBeNull();
    // The right password is refused now, from another address too, with the same words.
    const right = await ConsoleClient.of(collector, '127.0.0.6').login('kazuki', password);
    expect(right.status).toBe(401);
    expect(right.json).toEqual(SAME_ANSWER);
  });

  it('locks an account when the guesses come from 15 addresses at once', async () => {
    const { password } = await accountOf(collector, admin, 'misaki', 'auditor');
    const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => ConsoleClient.of(collector, `127.0.1.${10 + i}`).login('misaki', `nope-${i}`)));
    expect(answers.every((a) => a.status === 401)).toBe(true);
    expect(await lockedUntil('misaki')).not.toBeNull();
    expect((await ConsoleClient.of(collector, '127.0.1.99').login('misaki', password)).json).toEqual(SAME_ANSWER);
  });

  it('answers the same for a wrong password, an unknown name and a locked account', async () => {
    await accountOf(collector, admin, 'ren', 'auditor');
    const c = ConsoleClient.of(collector, '127.0.2.1');
    const wrong = await c.login('ren', 'not-the-password');
    const unknown = await ConsoleClient.of(collector, '127.0.2.2').login('nobody-here', 'not-the-password');
    for (let i = 0; i < 5; i++) await ConsoleClient.of(collector, '127.0.2.3').login('ren', `again-${i}`);
    const locked = await ConsoleClient.of(collector, '127.0.2.4').login('ren', 'not-the-password');
    expect(await lockedUntil('ren')).not.toBeNull();
    for (const a of [wrong, unknown, locked]) {
      expect(a.status).toBe(401);
      expect(a.json).toEqual(SAME_ANSWER);
    }
  });

  it('`mamori admin unlock` lets the owner in again', async () => {
    const { password } = await accountOf(collector, admin, 'yui', 'helpdesk');
    await Promise.all(Array.from({ length: 6 }, (_, i) => ConsoleClient.of(collector, '127.0.3.1').login('yui', `bad-${i}`)));
    expect(await lockedUntil('yui')).not.toBeNull();
    const unlock = startProc('unlock', [CLI, 'admin', 'unlock', 'yui', '--data', collector.dataDir]);
    await unlock.waitFor(/yui/);
    expect((await unlock.exited).code).toBe(0);
    expect(await lockedUntil('yui')).toBeNull();
    expect((await ConsoleClient.of(collector, '127.0.3.2').login('yui', password)).status).toBe(200);
    const audit = (await admin.request('GET', '/api/v1/audit?action=account.unlocked')).json.entries as { target: string }[];
    expect(audit.map((e) => e.target)).toContain('yui');
  });

  it('an administrator unlocks an account in the console', async () => {
    const { password } = await accountOf(collector, admin, 'hina', 'auditor');
    await Promise.all(Array.from({ length: 6 }, (_, i) => ConsoleClient.of(collector, '127.0.3.5').login('hina', `bad-${i}`)));
    expect(await lockedUntil('hina')).not.toBeNull();
    const users = (await admin.request('GET', '/api/v1/users')).json.users as { username: string; id: string }[];
    expect((await admin.request('POST', `/api/v1/users/${users.find((u) => u.username === 'hina')!.id}/unlock`, {})).status).toBe(200);
    expect(await lockedUntil('hina')).toBeNull();
    expect((await ConsoleClient.of(collector, '127.0.3.6').login('hina', password)).status).toBe(200);
  });
});

describe('passwords', () => {
  it('refuses a repeated character and a common password with digits added', async () => {
    const made = await admin.request('POST', '/api/v1/users', { username: 'haruto', role: 'auditor' });
    const c = ConsoleClient.of(collector, '127.0.4.1');
    expect((await c.login('haruto', made.json.oneTimePassword)).status).toBe(200);
    for (const weak of ['aaaaaaaaaaaa', 'password1234', 'Qwerty123456', 'iloveyou2026!']) {
      const r = await c.request('POST', '/api/v1/session/password', { current: made.json.oneTimePassword, next: weak });
      expect(r.status, weak).toBe(400);
      expect(r.json.error).toBe('WEAK_PASSWORD');
    }
    expect((await c.request('POST', '/api/v1/session/password', { current: made.json.oneTimePassword, next: 'Mizusawa-Gakko-Tosho' })).status).toBe(200);
  });

  it('a password change ends the account’s other sessions and its API tokens', async () => {
    const { client: here, password } = await accountOf(collector, admin, 'sora', 'auditor');
    const elsewhere = ConsoleClient.of(collector, '127.0.5.2');
    expect((await elsewhere.login('sora', password)).status).toBe(200);
    const token = await here.request('POST', '/api/v1/tokens', { name: 'cli' });
    expect(token.status).toBe(200);
    const cli = ConsoleClient.of(collector);
    cli.bearer = token.json.token;
    expect((await cli.request('GET', '/api/v1/violations')).status).toBe(200);
    expect((await elsewhere.request('GET', '/api/v1/violations')).status).toBe(200);

    expect((await here.request('POST', '/api/v1/session/password', { current: password, next: 'Hirosaki-Ringo-Sakura' })).status).toBe(200);
    expect((await elsewhere.request('GET', '/api/v1/violations')).status).toBe(401);
    expect((await cli.request('GET', '/api/v1/violations')).status).toBe(401);
    expect((await here.request('GET', '/api/v1/violations')).status).toBe(200);
  });
});

describe('HTTP surface', () => {
  it('sends HSTS and the security headers on every answer, API and errors included', async () => {
    const anon = ConsoleClient.of(collector);
    const answers = [await anon.request('GET', '/api/v1/violations'), await admin.request('GET', '/api/v1/violations'), await anon.request('GET', '/healthz'), await anon.request('GET', '/no-such-page'), await anon.request('GET', '/')];
    for (const a of answers) {
      expect(a.headers['strict-transport-security']).toMatch(/max-age=\d{7,}/);
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(a.headers['x-frame-options']).toBe('DENY');
      expect(a.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    }
  });

  it('refuses `Origin: null` with 403', async () => {
    const r = await admin.request('POST', '/api/v1/media', { stickerNo: 'ORIGIN-1', fingerprint: '0781:5567:ORIGIN1', owner: 'x', department: 'y' }, { origin: 'null' });
    expect(r.status).toBe(403);
    expect(r.json.error).toBe('CSRF');
  });

  it('refuses a negative or malformed page size instead of listing everything', async () => {
    for (const bad of ['-1', '1e9', 'abc', '2.5']) {
      const r = await admin.request('GET', `/api/v1/audit?limit=${bad}`);
      expect(r.status, bad).toBe(400);
    }
    for (const bad of ['/api/v1/violations?limit=-1', '/api/v1/audit?before=-5']) expect((await admin.request('GET', bad)).status, bad).toBe(400);
    const capped = await admin.request('GET', '/api/v1/audit?limit=999999');
    expect(capped.status).toBe(200);
    expect(capped.json.entries.length).toBeLessThanOrEqual(5000);
  });

  it('does not read the bodies of 30 unauthenticated 10 MB uploads into memory', async () => {
    const peak = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${collector.child.pid}/status`, 'utf8'))![1]) * 1024;
    const before = peak();
    const chunk = Buffer.alloc(1024 * 1024, 'a,b,c\n');
    const upload = (): Promise<number> =>
      new Promise((resolve) => {
        const req = request(`https://127.0.0.1:${collector.port}/api/v1/media/import`, { method: 'POST', ca: collector.caPem!, headers: { 'content-type': 'text/csv', 'content-length': String(10 * chunk.length) } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        // The collector may answer and close before the whole body is sent: that is the point.
        req.on('error', () => resolve(-1));
        let sent = 0;
        const more = (): void => {
          while (sent < 10) {
            sent++;
            if (!req.write(chunk)) return void req.once('drain', more);
          }
          req.end();
        };
        more();
      });
    const statuses = await Promise.all(Array.from({ length: 30 }, upload));
    expect(statuses.every((s) => s === 401 || s === -1)).toBe(true);
    // 30 × 10 MB read as strings would add at least 300 MB; refused from the headers, nothing is kept.
    expect(peak() - before).toBeLessThan(100 * 1024 * 1024);
    // A logged-in account without the import permission is refused from its headers too.
    const { client: auditor } = await accountOf(collector, admin, 'mei', 'auditor');
    expect((await auditor.request('POST', '/api/v1/media/import', '登録番号\nX-1\n')).status).toBe(403);
    // And an ordinary form has a small limit.
    expect((await admin.request('POST', '/api/v1/media', { stickerNo: 'BIG', owner: 'x'.repeat(300 * 1024), department: 'y', fingerprint: '0781:5567:BIG' })).status).toBe(413);
  }, 120_000);
});
