/**
 * A console client for attacks on a real `mamori collector` process over HTTPS (trusting the
 * collector's own CA): logs in like the browser (cookie + CSRF token) and can send from any
 * 127.0.0.0/8 address (Linux answers the whole block on loopback), to act as many PCs.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectorProc } from '../helpers/processes.js';

export interface Answer {
  status: number;
  json: any;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export class ConsoleClient {
  cookie = '';
  csrf = '';
  bearer = '';

  constructor(
    readonly base: string,
    readonly ca: string,
    readonly localAddress?: string,
  ) {}

  static of(c: CollectorProc, localAddress?: string): ConsoleClient {
    return new ConsoleClient(`https://127.0.0.1:${c.port}`, c.caPem!, localAddress);
  }

  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const h: Record<string, string> = { ...headers };
    if (this.cookie) h.cookie = this.cookie;
    if (this.bearer) h.authorization = `Bearer ${this.bearer}`;
    if (this.csrf && method !== 'GET') h['x-csrf-token'] ??= this.csrf;
    let payload: Buffer | undefined;
    if (body !== undefined) {
      payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      h['content-type'] ??= typeof body === 'string' ? 'text/csv' : 'application/json';
    }
    return new Promise((resolve, reject) => {
      const req = request(this.base + path, { method, headers: h, ca: this.ca, ...(this.localAddress ? { localAddress: this.localAddress } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const setCookie = res.headers['set-cookie']?.[0];
          if (setCookie) this.cookie = setCookie.split(';')[0]!.endsWith('=') ? '' : setCookie.split(';')[0]!;
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json, text, headers: res.headers });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async login(username: string, password: string): Promise<Answer> {
    const r = await this.request('POST', '/api/v1/session', { username, password });
    if (r.status === 200) this.csrf = r.json.csrfToken;
    return r;
  }
}

/** The initial admin's one-time password, as the collector wrote it to DATA/console-initial-admin.txt. */
export function initialAdminPassword(dataDir: string): string {
  return /password: (\S+)/.exec(readFileSync(join(dataDir, 'console-initial-admin.txt'), 'utf8'))![1]!;
}

export const ADMIN_PASSWORD = 'Hachioji-Kanri-2026!';

/** Log in as the initial admin and replace its one-time password. */
export async function adminOf(c: CollectorProc): Promise<ConsoleClient> {
  const admin = ConsoleClient.of(c);
  const first = await admin.login('admin', initialAdminPassword(c.dataDir));
  if (first.status !== 200) throw new Error(`admin login: ${first.status} ${first.text}`);
  const ch = await admin.request('POST', '/api/v1/session/password', { current: initialAdminPassword(c.dataDir), next: ADMIN_PASSWORD });
  if (ch.status !== 200) throw new Error(`admin password: ${ch.status} ${ch.text}`);
  return admin;
}

let counter = 0;

/** Make an account through the API and log it in with a strong password of its own; returns the client and that password. */
export async function accountOf(c: CollectorProc, admin: ConsoleClient, username: string, role: string, departments: string[] = [], localAddress?: string): Promise<{ client: ConsoleClient; password: string }> {
  const made = await admin.request('POST', '/api/v1/users', { username, role, departments });
  if (made.status !== 200) throw new Error(`create ${username}: ${made.status} ${made.text}`);
  const client = ConsoleClient.of(c, localAddress);
  const l = await client.login(username, made.json.oneTimePassword);
  if (l.status !== 200) throw new Error(`login ${username}: ${l.status} ${l.text}`);
  const password = `Tsukuba-Shiyakusho-${++counter}-Kagi`;
  const ch = await client.request('POST', '/api/v1/session/password', { current: made.json.oneTimePassword, next: password });
  if (ch.status !== 200) throw new Error(`password ${username}: ${ch.status} ${ch.text}`);
  return { client, password };
}
