/**
 * Console accounts (C-ACC: individual named accounts, least privilege): scrypt password
 * hashes, sessions with a synchronizer CSRF token, API tokens for the CLI, login throttling
 * and lockout after repeated failures.
 */
import { msg } from '../../shared/i18n/index.js';
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import type { SqlRunner } from '../store/sql.js';
import type { Principal, Role } from './authz.js';
import { ROLES } from './authz.js';
import { badRequest, ConsoleError, conflict, notFound } from './errors.js';
import type { Clock } from './util.js';
import { COMMON_PASSWORDS_TEXT } from './common-passwords.js';
import { newId, parseJson, systemClock } from './util.js';

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

function scrypt(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((res, rej) =>
    scryptCb(password.normalize('NFKC'), salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? rej(err) : res(key))),
  );
}

/** "scrypt$N$r$p$salt$hash" (base64 parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  const key = await new Promise<Buffer>((res, rej) =>
    scryptCb(password.normalize('NFKC'), salt, expected.length, { N: Number(parts[1]), r: Number(parts[2]), p: Number(parts[3]), maxmem: 64 * 1024 * 1024 }, (err, k) => (err ? rej(err) : res(k))),
  );
  return key.length === expected.length && timingSafeEqual(key, expected);
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const COMMON_PASSWORDS: ReadonlySet<string> = new Set(COMMON_PASSWORDS_TEXT.split(/\s+/).filter(Boolean));

/** The password stripped of the digits and symbols people put around a word ("Password1234!" → "password"). */
const coreWord = (password: string): string => password.toLowerCase().replace(/^[^a-z]+|[^a-z]+$/g, '');

/**
 * A password policy that a municipal auditor would accept: length over composition rules
 * (NIST SP 800-63B §5.1.1.2: at least 8, here 12, and not a known common password), plus
 * refusal of one character or a short pattern repeated ("aaaaaaaaaaaa", "abcabcabcabc").
 */
export function checkPasswordStrength(password: string, username: string): void {
  if (password.length < 12) throw new ConsoleError('WEAK_PASSWORD', 400, msg('error.password.short'));
  if (password.length > 256) throw new ConsoleError('WEAK_PASSWORD', 400, msg('error.password.long'));
  if (password.toLowerCase().includes(username.toLowerCase())) throw new ConsoleError('WEAK_PASSWORD', 400, msg('error.password.hasName'));
  if (new Set(password.toLowerCase()).size < 5) throw new ConsoleError('WEAK_PASSWORD', 400, msg('error.password.repetitive'));
  const lower = password.toLowerCase();
  const core = coreWord(password);
  if (COMMON_PASSWORDS.has(lower) || (core.length >= 4 && COMMON_PASSWORDS.has(core))) throw new ConsoleError('WEAK_PASSWORD', 400, msg('error.password.common'));
}

export interface UserRecord {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  departments: string[];
  mustChangePassword: boolean;
  failedLogins: number;
  lockedUntil: string | null;
  disabledAt: string | null;
  createdAt: string;
  createdBy: string;
  passwordChangedAt: string;
}

type Row = Record<string, unknown>;

function userFromRow(r: Row): UserRecord {
  return {
    id: String(r.id),
    username: String(r.username),
    displayName: String(r.display_name),
    role: r.role as Role,
    departments: parseJson<string[]>(r.departments_json, []),
    mustChangePassword: Number(r.must_change_password) === 1,
    failedLogins: Number(r.failed_logins),
    lockedUntil: (r.locked_until as string | null) ?? null,
    disabledAt: (r.disabled_at as string | null) ?? null,
    createdAt: String(r.created_at),
    createdBy: String(r.created_by),
    passwordChangedAt: String(r.password_changed_at),
  };
}

export interface AccountOptions {
  /** Failed logins in a row before the account is locked. */
  maxFailures: number;
  lockoutMs: number;
  /** A session ends after this long without a request. */
  idleMs: number;
  /** … and at the latest this long after login. */
  absoluteMs: number;
  /** Login attempts per client address per minute, whatever the user name. */
  attemptsPerMinutePerAddress: number;
  /** Login attempts per user name per minute, whatever the address (names that do not exist included). */
  attemptsPerMinutePerAccount: number;
}

export const DEFAULT_ACCOUNT_OPTIONS: AccountOptions = { maxFailures: 5, lockoutMs: 15 * 60_000, idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000, attemptsPerMinutePerAddress: 20, attemptsPerMinutePerAccount: 10 };

export interface NewSession {
  /** Cookie value (only its hash is stored). */
  sessionId: string;
  csrfToken: string;
  user: UserRecord;
  expiresAt: string;
}

/** Why a login was refused (kept in the audit log); `throttled_account`: too many attempts on one name from any address. */
export type LoginFailure = 'bad_credentials' | 'locked' | 'throttled' | 'throttled_account' | 'disabled';

/** `why` is for the audit log only; the caller sees the same answer whatever it is (a wrong password, an unknown, locked or disabled account alike; except the per-address throttle). */
export class LoginError extends ConsoleError {
  constructor(readonly why: LoginFailure) {
    super(why === 'throttled' ? 'LOGIN_THROTTLED' : 'LOGIN_FAILED', why === 'throttled' ? 429 : 401, msg(why === 'throttled' ? 'error.login.throttled' : 'error.login.failed'));
  }
}

/** Attempts per key in the last minute (in memory, per node; the account lockout in the database holds across nodes). */
class MinuteWindow {
  private readonly hits = new Map<string, number[]>();
  constructor(private readonly perMinute: number) {}

  /** Count an attempt; false when the key already had perMinute attempts in the last minute. */
  take(key: string, now: number): boolean {
    if (this.hits.size > 10_000) for (const [k, times] of this.hits) if (now - times[times.length - 1]! >= 60_000) this.hits.delete(k);
    const recent = (this.hits.get(key) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.perMinute) return false;
    recent.push(now);
    this.hits.set(key, recent);
    return true;
  }
}

const USERNAME = /^[a-zA-Z0-9._-]{2,64}$/;

export class Accounts {
  private readonly byAddress: MinuteWindow;
  private readonly byAccount: MinuteWindow;

  constructor(
    private readonly sql: SqlRunner,
    readonly options: AccountOptions = DEFAULT_ACCOUNT_OPTIONS,
    private readonly clock: Clock = systemClock,
  ) {
    this.byAddress = new MinuteWindow(options.attemptsPerMinutePerAddress);
    this.byAccount = new MinuteWindow(options.attemptsPerMinutePerAccount);
  }

  async count(): Promise<number> {
    const row = await this.sql.get<{ n: number }>('SELECT count(*) AS n FROM console_users');
    return Number(row?.n ?? 0);
  }

  async list(): Promise<UserRecord[]> {
    return (await this.sql.all<Row>('SELECT * FROM console_users ORDER BY username')).map(userFromRow);
  }

  async get(id: string): Promise<UserRecord | undefined> {
    const r = await this.sql.get<Row>('SELECT * FROM console_users WHERE id = ?', [id]);
    return r ? userFromRow(r) : undefined;
  }

  async byName(username: string): Promise<UserRecord | undefined> {
    const r = await this.sql.get<Row>('SELECT * FROM console_users WHERE username = ?', [username]);
    return r ? userFromRow(r) : undefined;
  }

  /**
   * Create an account. With `temporary`, the password is a one-time password the user must
   * change at first login (the initial admin, accounts made by an admin).
   */
  async create(input: { username: string; displayName?: string; role: Role; departments?: string[]; password: string; temporary: boolean; createdBy: string }): Promise<UserRecord> {
    if (!USERNAME.test(input.username)) throw badRequest(msg('error.account.username'));
    if (!ROLES.includes(input.role)) throw badRequest(msg('error.account.role', { roles: [...ROLES] }));
    if (!input.temporary) checkPasswordStrength(input.password, input.username);
    if (await this.byName(input.username)) throw conflict(msg('error.account.exists', { name: input.username }));
    const now = this.clock.now().toISOString();
    const id = newId('usr');
    await this.sql.run(
      `INSERT INTO console_users (id, username, display_name, role, departments_json, password_hash, must_change_password, failed_logins, locked_until, disabled_at, created_at, created_by, password_changed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, ?, ?, ?)`,
      [id, input.username, input.displayName ?? input.username, input.role, JSON.stringify(input.departments ?? []), await hashPassword(input.password), input.temporary ? 1 : 0, now, input.createdBy, now],
    );
    return (await this.get(id))!;
  }

  /** A random one-time password (shown once, changed at first login). */
  static oneTimePassword(): string {
    return randomBytes(12).toString('base64url');
  }

  async update(id: string, patch: { role?: Role; departments?: string[]; displayName?: string; disabled?: boolean }): Promise<UserRecord> {
    const user = await this.get(id);
    if (!user) throw notFound(msg('error.account.noUser', { name: id }));
    if (patch.role && !ROLES.includes(patch.role)) throw badRequest(msg('error.account.role', { roles: [...ROLES] }));
    await this.sql.run('UPDATE console_users SET role = ?, departments_json = ?, display_name = ?, disabled_at = ? WHERE id = ?', [
      patch.role ?? user.role,
      JSON.stringify(patch.departments ?? user.departments),
      patch.displayName ?? user.displayName,
      patch.disabled === undefined ? user.disabledAt : patch.disabled ? this.clock.now().toISOString() : null,
      id,
    ]);
    if (patch.disabled) await this.endSessionsOf(id);
    return (await this.get(id))!;
  }

  /** Reset to a new one-time password (admin action); unlocks the account. */
  async resetPassword(id: string): Promise<string> {
    const password = Accounts.oneTimePassword();
    const changed = await this.sql.run('UPDATE console_users SET password_hash = ?, must_change_password = 1, failed_logins = 0, locked_until = NULL WHERE id = ?', [await hashPassword(password), id]);
    if (!changed) throw notFound(msg('error.account.noUser', { name: id }));
    await this.endSessionsOf(id);
    await this.revokeApiTokensOf(id);
    return password;
  }

  /**
   * Change one's own password. Every other session of the account and all its API tokens end:
   * whoever learnt the old password or took a token keeps nothing (the session that made the
   * change, `keepSessionId`, stays).
   */
  async changePassword(id: string, current: string, next: string, keepSessionId?: string): Promise<void> {
    const row = await this.sql.get<Row>('SELECT * FROM console_users WHERE id = ?', [id]);
    if (!row) throw notFound(msg('error.account.noUser', { name: id }));
    if (!(await verifyPassword(current, String(row.password_hash)))) throw new ConsoleError('LOGIN_FAILED', 400, msg('error.password.currentWrong'));
    if (current === next) throw new ConsoleError('WEAK_PASSWORD', 400, msg('error.password.same'));
    checkPasswordStrength(next, String(row.username));
    await this.sql.run('UPDATE console_users SET password_hash = ?, must_change_password = 0, password_changed_at = ? WHERE id = ?', [await hashPassword(next), this.clock.now().toISOString(), id]);
    await this.sql.run('DELETE FROM console_sessions WHERE user_id = ? AND id_hash <> ?', [id, keepSessionId ? sha256(keepSessionId) : '']);
    await this.revokeApiTokensOf(id);
  }

  /** Clear the failure count and lockout of an account (administrator's unlock). */
  async unlock(username: string): Promise<UserRecord> {
    const changed = await this.sql.run('UPDATE console_users SET failed_logins = 0, locked_until = NULL WHERE username = ?', [username]);
    if (!changed) throw notFound(msg('error.account.noUser', { name: username }));
    return (await this.byName(username))!;
  }

  /**
   * Check a password. Each attempt is counted in the database before the (slow) password check,
   * with one atomic UPDATE, so parallel attempts cannot all see a count below the limit: at most
   * options.maxFailures wrong passwords are ever checked before the account locks, from however
   * many addresses or collector nodes. Every refusal gives the same answer (error.login.failed).
   */
  async login(username: string, password: string, address: string): Promise<NewSession> {
    const now = this.clock.now();
    if (!this.byAddress.take(address, now.getTime())) throw new LoginError('throttled');
    const name = username.toLowerCase();
    const row = await this.sql.get<Row>('SELECT * FROM console_users WHERE username = ?', [username]);
    if (!row || !this.byAccount.take(name, now.getTime())) {
      // Same work as a real check, so timing does not reveal which names exist.
      await verifyPassword(password, 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
      throw new LoginError(row ? 'throttled_account' : 'bad_credentials');
    }
    const user = userFromRow(row);
    const nowIso = now.toISOString();
    const lockUntil = new Date(now.getTime() + this.options.lockoutMs).toISOString();
    // A lockout that has run out starts a fresh count (only one of parallel attempts resets it).
    await this.sql.run('UPDATE console_users SET failed_logins = 0, locked_until = NULL WHERE id = ? AND locked_until IS NOT NULL AND locked_until <= ?', [user.id, nowIso]);
    const reserved = await this.sql.run('UPDATE console_users SET failed_logins = failed_logins + 1 WHERE id = ? AND locked_until IS NULL AND failed_logins < ?', [user.id, this.options.maxFailures]);
    if (!reserved) {
      await this.sql.run('UPDATE console_users SET locked_until = ? WHERE id = ? AND locked_until IS NULL', [lockUntil, user.id]);
      await verifyPassword(password, String(row.password_hash));
      throw new LoginError('locked');
    }
    const ok = await verifyPassword(password, String(row.password_hash));
    if (user.disabledAt) throw new LoginError('disabled');
    if (!ok) {
      await this.sql.run('UPDATE console_users SET locked_until = ? WHERE id = ? AND locked_until IS NULL AND failed_logins >= ?', [lockUntil, user.id, this.options.maxFailures]);
      throw new LoginError('bad_credentials');
    }
    await this.sql.run('UPDATE console_users SET failed_logins = 0, locked_until = NULL WHERE id = ?', [user.id]);
    return this.startSession(user);
  }

  private async startSession(user: UserRecord): Promise<NewSession> {
    const sessionId = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.options.absoluteMs).toISOString();
    await this.sql.run('INSERT INTO console_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)', [
      sha256(sessionId),
      user.id,
      csrfToken,
      now.toISOString(),
      now.toISOString(),
      expiresAt,
    ]);
    return { sessionId, csrfToken, user, expiresAt };
  }

  /** The principal of a session cookie, or undefined when it is unknown, idle too long or past its end. */
  async session(sessionId: string): Promise<{ principal: Principal; csrfToken: string } | undefined> {
    const row = await this.sql.get<Row>('SELECT * FROM console_sessions WHERE id_hash = ?', [sha256(sessionId)]);
    if (!row) return undefined;
    const now = this.clock.now();
    const idleEnd = new Date(new Date(String(row.last_seen_at)).getTime() + this.options.idleMs).toISOString();
    if (String(row.expires_at) <= now.toISOString() || idleEnd <= now.toISOString()) {
      await this.sql.run('DELETE FROM console_sessions WHERE id_hash = ?', [sha256(sessionId)]);
      return undefined;
    }
    const user = await this.get(String(row.user_id));
    if (!user || user.disabledAt) return undefined;
    await this.sql.run('UPDATE console_sessions SET last_seen_at = ? WHERE id_hash = ?', [now.toISOString(), sha256(sessionId)]);
    return { principal: principalOf(user, 'session'), csrfToken: String(row.csrf_token) };
  }

  async endSession(sessionId: string): Promise<void> {
    await this.sql.run('DELETE FROM console_sessions WHERE id_hash = ?', [sha256(sessionId)]);
  }

  async endSessionsOf(userId: string): Promise<void> {
    await this.sql.run('DELETE FROM console_sessions WHERE user_id = ?', [userId]);
  }

  /** An API token for the CLI ("mmc1.<id>.<secret>"); only the secret's hash is kept. */
  async createApiToken(userId: string, name: string, validMs: number): Promise<{ token: string; id: string; expiresAt: string }> {
    const id = newId('tok');
    const secret = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + validMs).toISOString();
    await this.sql.run('INSERT INTO console_api_tokens (id, user_id, secret_hash, name, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)', [
      id,
      userId,
      sha256(secret),
      name,
      now.toISOString(),
      expiresAt,
    ]);
    return { token: `mmc1.${id}.${secret}`, id, expiresAt };
  }

  async apiToken(token: string): Promise<Principal | undefined> {
    const m = /^mmc1\.(tok_[0-9a-f]+)\.([A-Za-z0-9_-]+)$/.exec(token);
    if (!m) return undefined;
    const row = await this.sql.get<Row>('SELECT * FROM console_api_tokens WHERE id = ?', [m[1]!]);
    if (!row || row.revoked_at || String(row.expires_at) <= this.clock.now().toISOString()) return undefined;
    const a = Buffer.from(sha256(m[2]!));
    const b = Buffer.from(String(row.secret_hash));
    if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
    const user = await this.get(String(row.user_id));
    if (!user || user.disabledAt || user.mustChangePassword) return undefined;
    return principalOf(user, 'token');
  }

  async revokeApiToken(id: string, userId: string): Promise<void> {
    const changed = await this.sql.run('UPDATE console_api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL', [this.clock.now().toISOString(), id, userId]);
    if (!changed) throw notFound(msg('error.apiToken.notFound', { id }));
  }

  async revokeApiTokensOf(userId: string): Promise<void> {
    await this.sql.run('UPDATE console_api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL', [this.clock.now().toISOString(), userId]);
  }
}

export function principalOf(user: UserRecord, via: 'session' | 'token'): Principal {
  return { userId: user.id, username: user.username, displayName: user.displayName, role: user.role, departments: user.departments, via, mustChangePassword: user.mustChangePassword };
}

