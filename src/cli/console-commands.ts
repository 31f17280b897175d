/**
 * Console actions from the terminal, over the same /api/v1 as the screens:
 *   mamori scan HOST… | --group G --collector URL     helpdesk scan, waits for the results
 *   mamori scan HOST --inventory --collector URL      collects and prints the 資産管理台帳 of the PC
 *   mamori watch --collector URL                      live violation stream
 * HTTPS: the collector's CA is trusted from --data DIR or --ca-pin (src/cli/collector-client.ts).
 *   mamori admin create-user NAME --role R --data DIR one-time password printed once
 * Credentials: MAMORI_API_TOKEN (or --token), else --user/--password (or MAMORI_USER /
 * MAMORI_PASSWORD) for a session login.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import WebSocket from 'ws';
import { openDefaultStore } from '../collector/collector.js';
import { Accounts } from '../collector/console/accounts.js';
import { AuditAnchor, AuditLog } from '../collector/console/audit.js';
import { ROLES } from '../collector/console/authz.js';
import type { Role } from '../collector/console/authz.js';
import { migrateConsole } from '../collector/console/migrations.js';
import { ConsoleError } from '../collector/console/errors.js';
import { checkById } from '../../agent/checks/registry.js';
import { causeOf, jstNumeric, term } from '../shared/i18n/index.js';
import type { CheckId } from '../shared/protocol/messages.js';
import { collectorCa, connectionError, requestJson } from './collector-client.js';
import type { TrustOptions } from './collector-client.js';
import { UsageError } from './errors.js';
import { cliLang, t } from './lang.js';
import { jst } from '../shared/inventory/labels.js';

interface ConnOptions extends TrustOptions {
  collector: string;
  token?: string;
  user?: string;
  password?: string;
}

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];

/** --severity critical,high (or 緊急,高) → the set; an unknown name is a usage error, not a filter that matches nothing. */
function severityFilter(list: string | undefined): Set<string> | undefined {
  if (list === undefined) return undefined;
  const byWord = new Map(SEVERITIES.flatMap((s) => [[term('severity', s), s], [term('severity', s, 'en'), s]]));
  const names = list.split(/[,、]/).map((x) => x.trim().toLowerCase()).filter(Boolean).map((n) => byWord.get(n) ?? n);
  const unknown = names.filter((n) => !SEVERITIES.includes(n));
  if (unknown.length || names.length === 0) throw new UsageError(t('cli.console.severity', { list, severities: SEVERITIES.map((s) => `${s} (${term('severity', s)})`).join(', ') }));
  return new Set(names);
}

/** A check's name (「USB記録媒体」), its id when this build does not know it. */
function checkTitle(id: string): string {
  return checkById(id as CheckId)?.title[cliLang()] ?? id;
}

/** One check of a scan result in words: the verdict, never the bare transport status (a check that ran and found violations is not "ok"). */
export function scanCheckVerdict(c: { status: string; failed: number; reason?: string }): string {
  if (c.failed > 0) return t('cli.scan.violations', { n: c.failed });
  if (c.status === 'ok') return t('cli.scan.pass');
  return `${term('scanStatus', c.status, cliLang())}${c.reason ? ` (${t('text', { text: causeOf(c.reason) })})` : ''}`;
}

/** Where a scan request stands, in words. */
function scanState(r: ScanReq, failed: number): string {
  if (r.state === 'done') return failed > 0 ? t('cli.scan.doneFailed', { n: failed }) : t('cli.scan.doneClean');
  return t(r.state === 'queued' ? 'cli.scan.queued' : 'cli.scan.waiting');
}

/** The console API's error text in the language of this run (it answers both). */
function answerText(body: { message?: string; messageEn?: string }): string | undefined {
  return (cliLang() === 'en' ? body.messageEn : undefined) ?? body.message;
}

/** An authenticated connection to the console API (API token, or a session cookie + CSRF token), trusting the collector's CA. */
class ConsoleApi {
  private headers: Record<string, string> = {};
  constructor(
    readonly base: URL,
    readonly ca: string | undefined,
  ) {}

  static async connect(o: ConnOptions): Promise<ConsoleApi> {
    let url: URL;
    try {
      url = new URL(o.collector);
    } catch {
      throw new UsageError(t('cli.console.notUrl', { url: o.collector }));
    }
    if (url.protocol === 'ws:') url.protocol = 'http:';
    if (url.protocol === 'wss:') url.protocol = 'https:';
    const api = new ConsoleApi(new URL(url.origin), await collectorCa(url, o));
    const token = o.token ?? process.env.MAMORI_API_TOKEN;
    if (token) {
      api.headers.authorization = `Bearer ${token}`;
      return api;
    }
    const user = o.user ?? process.env.MAMORI_USER;
    const password = o.password ?? process.env.MAMORI_PASSWORD;
    if (!user || !password) throw new UsageError(t('cli.console.credentials'));
    const res = await requestJson<{ csrfToken?: string; message?: string; messageEn?: string }>('POST', new URL('/api/v1/session', api.base), { body: { username: user, password }, ...(api.ca ? { ca: api.ca } : {}) });
    if (res.status >= 400) throw new UsageError(t('cli.console.loginFailed', { why: answerText(res.body) ?? res.status }));
    const cookie = [res.headers['set-cookie'] ?? []].flat()[0] ?? '';
    api.headers.cookie = cookie.split(';')[0]!;
    api.headers['x-csrf-token'] = res.body.csrfToken!;
    return api;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await requestJson<T & { message?: string; messageEn?: string }>(method, new URL(path, this.base), { headers: this.headers, body, ...(this.ca ? { ca: this.ca } : {}) });
    if (res.status >= 400) throw new UsageError(`${method} ${path}: ${answerText(res.body) ?? res.status}`);
    return res.body;
  }

  /** Upgrade headers for the stream. */
  get streamHeaders(): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.headers.authorization) h.authorization = this.headers.authorization;
    if (this.headers.cookie) h.cookie = this.headers.cookie;
    return h;
  }
}

function connOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--collector <url>', t('cli.console.opt.collector'))
    .option('--data <dir>', t('cli.console.opt.data'))
    .option('--ca-pin <fingerprint>', t('cli.console.opt.caPin'))
    .option('--token <token>', t('cli.console.opt.token'))
    .option('--user <name>', t('cli.console.opt.user'))
    .option('--password <password>', t('cli.console.opt.password'));
}

/** A severity in a fixed-width column: the Japanese word (緊急, 高 …) padded to two full-width characters; the English one to eight. */
function severityCell(severity: string): string {
  const lang = cliLang();
  const word = severity ? term('severity', severity, lang) : '';
  return lang === 'ja' ? word.padEnd(2, '\u3000') : word.padEnd(8, ' ');
}

interface ScanReq {
  id: string;
  hostname?: string;
  agentId: string;
  state: 'queued' | 'sent' | 'done';
  result: unknown;
  completedAt: string | null;
}

/** GET /api/v1/pcs/:id/inventory (src/collector/console/inventory-routes.ts). */
interface PcInventory {
  collectedAt: string | null;
  lines: [string, string][];
  /** The same lines in English (collectors before the language switch of the register answer only `lines`). */
  linesEn?: [string, string][];
  changes: { at: string; label: { ja: string; en: string }; subject: string; before: string | null; after: string | null }[];
}

/** The 資産管理台帳 of one PC as the helpdesk reads it in a terminal: labels in the language of this run, JST times. */
export function inventoryText(host: string, inv: PcInventory): string {
  const lang = cliLang();
  if (!inv.collectedAt) return `${host}\t${t('cli.inventory.none')}\n`;
  const lines = lang === 'en' && inv.linesEn ? inv.linesEn : inv.lines;
  // Terminal columns: a Japanese character takes two.
  const cols = (text: string) => [...text].reduce((n, c) => n + (c.charCodeAt(0) > 0x2e7f ? 2 : 1), 0);
  const width = Math.max(...lines.map(([k]) => cols(k)));
  const out = [`${host}\t${t('cli.inventory.head', { at: jst(inv.collectedAt) })}`, ...lines.map(([k, v]) => `  ${k}${' '.repeat(width - cols(k))}  ${v}`)];
  out.push(`  ${t(inv.changes.length ? 'cli.inventory.changes' : 'cli.inventory.noChanges')}`);
  for (const c of inv.changes) out.push(`    ${jst(c.at)}  ${c.label[lang] ?? c.label.ja}  ${c.subject}${c.before || c.after ? `  ${c.before ?? '—'} → ${c.after ?? '—'}` : ''}`);
  return `${out.join('\n')}\n`;
}

export function registerConsoleCommands(program: Command): void {
  connOptions(
    program
      .command('scan [hosts...]')
      .description(t('cli.scan.description'))
      .option('--group <group>', t('cli.scan.opt.group'))
      .option('--check <id...>', t('cli.scan.opt.check'))
      .option('--inventory', t('cli.scan.opt.inventory'))
      .option('--timeout <seconds>', t('cli.scan.opt.timeout'), '60')
      .option('--json', t('cli.scan.opt.json')),
  ).action(async (hosts: string[], o: ConnOptions & { group?: string; check?: string[]; inventory?: boolean; timeout: string; json?: boolean }) => {
    if (!hosts.length && !o.group) throw new UsageError(t('cli.scan.noHosts'));
    const api = await ConsoleApi.connect(o);
    const checks = o.check ?? (o.inventory ? ['inventory'] : undefined);
    const started = await api.call<{ requests: ScanReq[] }>('POST', '/api/v1/scans', { hosts, ...(o.group ? { group: o.group } : {}), ...(checks ? { checks } : {}) });
    const names = new Map(started.requests.map((r) => [r.id, r.hostname ?? r.agentId]));
    let reqs = started.requests;
    const end = Date.now() + Number(o.timeout) * 1000;
    while (reqs.some((r) => r.state !== 'done') && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 500));
      reqs = (await api.call<{ requests: ScanReq[] }>('GET', `/api/v1/scans?ids=${reqs.map((r) => r.id).join(',')}`)).requests;
    }
    const inventories = new Map<string, PcInventory>();
    if (o.inventory) for (const r of reqs.filter((x) => x.state === 'done')) inventories.set(r.id, await api.call<PcInventory>('GET', `/api/v1/pcs/${encodeURIComponent(r.agentId)}/inventory`));
    if (o.json) process.stdout.write(`${JSON.stringify(reqs.map((r) => ({ ...r, hostname: names.get(r.id), ...(inventories.has(r.id) ? { inventory: inventories.get(r.id) } : {}) })), null, 2)}\n`);
    else if (o.inventory) {
      for (const r of reqs) {
        const inv = inventories.get(r.id);
        process.stdout.write(inv ? inventoryText(names.get(r.id) ?? r.agentId, inv) : `${names.get(r.id)}\t${t(r.state === 'queued' ? 'cli.inventory.queued' : 'cli.inventory.waiting')}\n`);
      }
    } else {
      for (const r of reqs) {
        const checks = Array.isArray(r.result) ? (r.result as { checkId: string; status: string; failed: number; reason?: string }[]) : [];
        const failed = checks.reduce((n, c) => n + c.failed, 0);
        process.stdout.write(`${names.get(r.id)}\t${scanState(r, failed)}${r.completedAt ? ` (${jstNumeric(r.completedAt)})` : ''}\n`);
        for (const c of checks) process.stdout.write(`  ${checkTitle(c.checkId)}\t${scanCheckVerdict(c)}\n`);
      }
    }
    if (reqs.some((r) => r.state !== 'done')) process.exitCode = 3;
  });

  connOptions(
    program
      .command('watch')
      .description(t('cli.watch.description'))
      .option('--severity <list>', t('cli.watch.opt.severity'))
      .option('--json', t('cli.watch.opt.json')),
  ).action(async (o: ConnOptions & { severity?: string; json?: boolean }) => {
    const api = await ConsoleApi.connect(o);
    const wanted = severityFilter(o.severity);
    const url = new URL('/api/v1/stream', api.base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    await new Promise<void>((resolvePromise, reject) => {
      const ws = new WebSocket(url, { headers: api.streamHeaders, ...(api.ca ? { ca: [api.ca] } : {}) });
      ws.on('unexpected-response', (_req, res) => reject(new UsageError(t('cli.watch.refused', { status: res.statusCode ?? 0 }))));
      ws.on('error', (err) => reject(connectionError(err, api.base)));
      ws.on('close', () => resolvePromise());
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as { type: string; violation?: { severity: string; hostname: string; ruleId: string; subject: string; title: { ja: string; en?: string }; user: string | null; openedAt: string; clauses: { source: string; ref: string }[]; exceptionId: string | null }; hostname?: string; ruleId?: string; subject?: string; closedAt?: string; severity?: string };
        // With --severity only violations (and closes) of those severities pass, in text and in JSON.
        if (wanted && !(m.type === 'hello' && !o.json) && !wanted.has((m.type === 'violation' ? m.violation?.severity : m.type === 'violation.closed' ? m.severity : undefined) ?? '')) return;
        if (o.json) return void process.stdout.write(`${JSON.stringify(m)}\n`);
        if (m.type === 'violation' && m.violation) {
          const v = m.violation;
          const title = (cliLang() === 'en' ? v.title.en : undefined) ?? v.title.ja;
          process.stdout.write(`${jstNumeric(v.openedAt, { seconds: true })}  ${t('cli.watch.opened')}  ${severityCell(v.severity)} ${v.hostname}  ${v.ruleId} ${v.subject}  ${title}${v.exceptionId ? `  [${t('cli.watch.exception')}]` : ''}  (${v.clauses.map((c) => `${c.source} ${c.ref}`).join(', ')})${v.user ? `  ${t('cli.watch.user', { user: v.user })}` : ''}\n`);
        } else if (m.type === 'violation.closed') process.stdout.write(`${jstNumeric(m.closedAt ?? '', { seconds: true })}  ${t('cli.watch.closed')}  ${severityCell(m.severity ?? '')} ${m.hostname}  ${m.ruleId} ${m.subject}\n`);
        else if (m.type === 'hello') process.stderr.write(`${t('cli.watch.hello', { user: (m as unknown as { user: string }).user })}\n`);
      });
      process.once('SIGINT', () => ws.close());
    });
  });

  const admin = program.commands.find((c) => c.name() === 'admin') ?? program.command('admin').description(t('cli.admin.description'));
  admin
    .command('create-user <username>')
    .description(t('cli.admin.createUser'))
    .requiredOption('--role <role>', t('cli.admin.opt.role', { roles: ROLES.join(', ') }))
    .option('--display-name <name>', t('cli.admin.opt.displayName'))
    .option('--department <name...>', t('cli.admin.opt.department'))
    .option('--data <dir>', t('cli.opt.collectorData'), './var/collector')
    .action(async (username: string, o: { role: string; displayName?: string; department?: string[]; data: string }) => {
      if (!ROLES.includes(o.role as Role)) throw new UsageError(t('cli.common.oneOf', { option: `--role ${o.role}`, values: [...ROLES] }));
      const store = openDefaultStore(resolve(o.data));
      try {
        await store.migrate();
        await migrateConsole(store.sql);
        const password = Accounts.oneTimePassword();
        const user = await new Accounts(store.sql).create({ username, role: o.role as Role, ...(o.displayName ? { displayName: o.displayName } : {}), ...(o.department ? { departments: o.department } : {}), password, temporary: true, createdBy: 'cli' });
        await new AuditLog(store.sql, undefined, AuditAnchor.of(resolve(o.data))).append({ actor: 'cli', role: 'system', ip: '-' }, 'account.created', user.username, { role: user.role, departments: user.departments });
        process.stdout.write(`${password}\n`);
        process.stderr.write(`${t('cli.admin.userCreated', { username: user.username, role: term('role', user.role, cliLang()) })}\n`);
      } catch (err) {
        if (err instanceof ConsoleError && (err.code === 'CONFLICT' || err.code === 'BAD_REQUEST')) throw new UsageError(err.text[cliLang()]);
        throw err;
      } finally {
        await store.close();
      }
    });
}
