/**
 * 媒体管理台帳 (media ledger) and its lending record (貸出・返却, 003 第4章4(1)サ): every USB
 * storage medium the organisation owns, keyed by the municipality's own sticker number
 * (登録番号) and identified on PCs by the agent's fingerprint "vvvv:pppp:SERIAL". Media that
 * share one serial are flagged (cheap sticks often report the same serial: the ledger cannot
 * tell them apart, see anchors.md (c)1). CSV import and export for Excel.
 *
 * A 課-scoped account (see authz.ts actingAs) sees and changes only the media of its 課: lists
 * leave the others out, and reading or changing one by id answers 403.
 */
import type { SqlRunner } from '../store/sql.js';
import { msg, render, term, termValue, type Lang } from '../../shared/i18n/index.js';
import { parseUploadedCsv, toCsv, unguard } from './csv.js';
import { requireScope, scopeDepartments } from './authz.js';
import { badRequest, ConsoleError, conflict, notFound } from './errors.js';
import type { Clock } from './util.js';
import { newId, systemClock } from './util.js';

export const ENCRYPTION = ['hardware', 'software', 'none', 'unknown'] as const;
export type Encryption = (typeof ENCRYPTION)[number];
export const MEDIA_STATUS = ['active', 'retired', 'lost'] as const;
export type MediaStatus = (typeof MEDIA_STATUS)[number];

export interface MediaRecord {
  id: string;
  stickerNo: string;
  fingerprint: string;
  vendorId: string;
  productId: string;
  serial: string | null;
  label: string;
  owner: string;
  department: string;
  encryption: Encryption;
  status: MediaStatus;
  note: string;
  registeredBy: string;
  registeredAt: string;
  updatedAt: string;
  /** Another ledger entry reports the same serial. */
  duplicateSerial: boolean;
  /** The open loan, if it is lent out now. */
  onLoan: LoanRecord | null;
}

export interface LoanRecord {
  id: string;
  mediaId: string;
  borrower: string;
  department: string;
  purpose: string;
  lentAt: string;
  lentBy: string;
  dueAt: string | null;
  returnedAt: string | null;
  returnedBy: string | null;
  /** Still out after its 返却予定日 (a JST day, the whole of which the borrower has). */
  overdue: boolean;
}

export interface MediaInput {
  stickerNo: string;
  fingerprint?: string;
  vendorId?: string;
  productId?: string;
  serial?: string | null;
  label?: string;
  owner: string;
  department: string;
  encryption?: Encryption;
  status?: MediaStatus;
  note?: string;
}

const HEX4 = /^[0-9a-f]{4}$/;

/** "VVVV:PPPP:SERIAL" as the agent builds it (agent/checks/usb-media/facts.ts): ids lower-case, serial upper-case. */
export function normaliseFingerprint(vendorId: string, productId: string, serial: string): string {
  return `${vendorId.trim().toLowerCase()}:${productId.trim().toLowerCase()}:${serial.trim().toUpperCase()}`;
}

/** Split and check a fingerprint; a serial-less "nos-" fingerprint is accepted (LANSCOPE cannot register those; we can, flagged by serial null). */
export function parseFingerprint(fp: string): { vendorId: string; productId: string; serial: string | null } {
  const m = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{4}):(.+)$/.exec(fp.trim());
  if (!m) throw badRequest(msg('error.media.fingerprint', { value: fp }));
  const serial = m[3]!.startsWith('nos-') ? null : m[3]!.trim().toUpperCase();
  return { vendorId: m[1]!.toLowerCase(), productId: m[2]!.toLowerCase(), serial };
}

type Row = Record<string, unknown>;

const JST_MS = 9 * 3_600_000;
const jstDayOf = (ms: number): string => new Date(ms + JST_MS).toISOString().slice(0, 10);

const loanOf = (r: Row, now: Date): LoanRecord => ({
  id: String(r.id),
  mediaId: String(r.media_id),
  borrower: String(r.borrower),
  department: String(r.department),
  purpose: String(r.purpose),
  lentAt: String(r.lent_at),
  lentBy: String(r.lent_by),
  dueAt: (r.due_at as string | null) ?? null,
  returnedAt: (r.returned_at as string | null) ?? null,
  returnedBy: (r.returned_by as string | null) ?? null,
  overdue: !r.returned_at && !!r.due_at && jstDayOf(Date.parse(String(r.due_at))) < jstDayOf(now.getTime()),
});

/** CSV columns: Japanese header for Excel users, English accepted on import. */
export const MEDIA_CSV_COLUMNS = [
  { key: 'stickerNo', ja: '登録番号', en: 'sticker_no' },
  { key: 'fingerprint', ja: '識別子', en: 'fingerprint' },
  { key: 'vendorId', ja: 'ベンダーID', en: 'vendor_id' },
  { key: 'productId', ja: 'プロダクトID', en: 'product_id' },
  { key: 'serial', ja: 'シリアル番号', en: 'serial' },
  { key: 'label', ja: '品名', en: 'label' },
  { key: 'owner', ja: '管理者', en: 'owner' },
  { key: 'department', ja: '所属', en: 'department' },
  { key: 'encryption', ja: '暗号化', en: 'encryption' },
  { key: 'status', ja: '状態', en: 'status' },
  { key: 'note', ja: '備考', en: 'note' },
  { key: 'duplicateSerial', ja: 'シリアル重複', en: 'duplicate_serial' },
  { key: 'onLoan', ja: '貸出中', en: 'on_loan' },
] as const;

export class MediaLedger {
  constructor(
    private readonly sql: SqlRunner,
    private readonly clock: Clock = systemClock,
  ) {}

  async list(filter: { departments?: string[] } = {}): Promise<MediaRecord[]> {
    const scope = scopeDepartments();
    return (await this.all()).filter((m) => (!filter.departments?.length || filter.departments.includes(m.department)) && (!scope || scope.includes(m.department)));
  }

  /** Every medium, whatever the acting account's scope. */
  private async all(): Promise<MediaRecord[]> {
    const rows = await this.sql.all<Row>('SELECT * FROM console_media ORDER BY sticker_no');
    const dupRows = await this.sql.all<{ serial: string }>('SELECT serial FROM console_media WHERE serial IS NOT NULL GROUP BY serial HAVING count(*) > 1');
    const dups = new Set(dupRows.map((r) => String(r.serial)));
    const loans = new Map((await this.sql.all<Row>('SELECT * FROM console_media_loans WHERE returned_at IS NULL')).map((r) => [String(r.media_id), loanOf(r, this.clock.now())]));
    return rows.map((r) => this.recordOf(r, dups, loans));
  }

  private recordOf(r: Row, dups: Set<string>, loans: Map<string, LoanRecord>): MediaRecord {
    const serial = (r.serial as string | null) ?? null;
    return {
      id: String(r.id),
      stickerNo: String(r.sticker_no),
      fingerprint: String(r.fingerprint),
      vendorId: String(r.vendor_id),
      productId: String(r.product_id),
      serial,
      label: String(r.label),
      owner: String(r.owner),
      department: String(r.department),
      encryption: r.encryption as Encryption,
      status: r.status as MediaStatus,
      note: String(r.note),
      registeredBy: String(r.registered_by),
      registeredAt: String(r.registered_at),
      updatedAt: String(r.updated_at),
      duplicateSerial: serial !== null && dups.has(serial),
      onLoan: loans.get(String(r.id)) ?? null,
    };
  }

  /** One medium; 403 when it belongs to a 課 outside the acting account's scope. */
  async get(id: string): Promise<MediaRecord | undefined> {
    const m = (await this.all()).find((x) => x.id === id);
    if (m) requireScope(m.department, { ja: `媒体 ${m.stickerNo}`, en: `medium ${m.stickerNo}` });
    return m;
  }

  /** Fingerprints of media in use (active), for the PolicyDocument list `registeredMedia`. */
  async registeredFingerprints(): Promise<string[]> {
    const rows = await this.sql.all<{ fingerprint: string }>("SELECT DISTINCT fingerprint FROM console_media WHERE status = 'active' ORDER BY fingerprint");
    return rows.map((r) => String(r.fingerprint));
  }

  private normalise(input: MediaInput): Omit<MediaRecord, 'id' | 'registeredBy' | 'registeredAt' | 'updatedAt' | 'duplicateSerial' | 'onLoan'> {
    const stickerNo = input.stickerNo?.trim();
    if (!stickerNo || stickerNo.length > 64) throw badRequest(msg('error.media.sticker'));
    let vendorId = input.vendorId?.trim().toLowerCase() ?? '';
    let productId = input.productId?.trim().toLowerCase() ?? '';
    let serial = input.serial?.trim() ? input.serial.trim().toUpperCase() : null;
    let fingerprint = input.fingerprint?.trim() ?? '';
    if (fingerprint) {
      const p = parseFingerprint(fingerprint);
      ({ vendorId, productId } = p);
      serial = p.serial;
      fingerprint = p.serial ? normaliseFingerprint(p.vendorId, p.productId, p.serial) : `${p.vendorId}:${p.productId}:${fingerprint.split(':').slice(2).join(':')}`;
    } else {
      if (!HEX4.test(vendorId) || !HEX4.test(productId) || !serial) throw badRequest(msg('error.media.identity'));
      fingerprint = normaliseFingerprint(vendorId, productId, serial);
    }
    const encryption = input.encryption ?? 'unknown';
    if (!ENCRYPTION.includes(encryption)) throw badRequest(msg('error.media.encryption', { values: ENCRYPTION.map((v) => msg(`encryption.${v}`)) }));
    const status = input.status ?? 'active';
    if (!MEDIA_STATUS.includes(status)) throw badRequest(msg('error.media.status', { values: MEDIA_STATUS.map((v) => msg(`mediaStatus.${v}`)) }));
    if (!input.owner?.trim()) throw badRequest(msg('error.media.owner'));
    if (!input.department?.trim()) throw badRequest(msg('error.media.department'));
    return { stickerNo, fingerprint, vendorId, productId, serial, label: input.label?.trim() ?? '', owner: input.owner.trim(), department: input.department.trim(), encryption, status, note: input.note?.trim() ?? '' };
  }

  async register(input: MediaInput, by: string): Promise<MediaRecord> {
    const m = this.normalise(input);
    requireScope(m.department, { ja: `媒体 ${m.stickerNo} の登録`, en: `registering medium ${m.stickerNo}` });
    if (await this.sql.get('SELECT id FROM console_media WHERE sticker_no = ?', [m.stickerNo])) throw conflict(msg('error.media.stickerTaken', { sticker: m.stickerNo }));
    const id = newId('med');
    const now = this.clock.now().toISOString();
    await this.sql.run(
      `INSERT INTO console_media (id, sticker_no, fingerprint, vendor_id, product_id, serial, label, owner, department, encryption, status, note, registered_by, registered_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, m.stickerNo, m.fingerprint, m.vendorId, m.productId, m.serial, m.label, m.owner, m.department, m.encryption, m.status, m.note, by, now, now],
    );
    return (await this.get(id))!;
  }

  async update(id: string, input: MediaInput): Promise<MediaRecord> {
    const cur = await this.get(id);
    if (!cur) throw notFound(msg('error.media.notFound', { id }));
    const m = this.normalise({ ...cur, ...input });
    requireScope(m.department, { ja: `媒体 ${m.stickerNo} の所属変更`, en: `moving medium ${m.stickerNo} to another department` });
    const other = await this.sql.get<{ id: string }>('SELECT id FROM console_media WHERE sticker_no = ? AND id <> ?', [m.stickerNo, id]);
    if (other) throw conflict(msg('error.media.stickerTaken', { sticker: m.stickerNo }));
    await this.sql.run(
      'UPDATE console_media SET sticker_no = ?, fingerprint = ?, vendor_id = ?, product_id = ?, serial = ?, label = ?, owner = ?, department = ?, encryption = ?, status = ?, note = ?, updated_at = ? WHERE id = ?',
      [m.stickerNo, m.fingerprint, m.vendorId, m.productId, m.serial, m.label, m.owner, m.department, m.encryption, m.status, m.note, this.clock.now().toISOString(), id],
    );
    return (await this.get(id))!;
  }

  async lend(mediaId: string, loan: { borrower: string; department: string; purpose: string; dueAt?: string | null }, by: string): Promise<LoanRecord> {
    const m = await this.get(mediaId);
    if (!m) throw notFound(msg('error.media.notFound', { id: mediaId }));
    if (m.status !== 'active') throw conflict(msg('error.media.notActive', { sticker: m.stickerNo, status: msg(`mediaStatus.${m.status}`) }));
    if (m.onLoan) throw conflict(msg('error.media.onLoan', { sticker: m.stickerNo, borrower: m.onLoan.borrower }));
    if (!loan.borrower?.trim() || !loan.department?.trim() || !loan.purpose?.trim()) throw badRequest(msg('error.media.loanFields'));
    if (loan.dueAt && Number.isNaN(Date.parse(loan.dueAt))) throw badRequest(msg('error.media.dueDate'));
    const id = newId('loan');
    await this.sql.run(
      'INSERT INTO console_media_loans (id, media_id, borrower, department, purpose, lent_at, lent_by, due_at, returned_at, returned_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)',
      [id, mediaId, loan.borrower.trim(), loan.department.trim(), loan.purpose.trim(), this.clock.now().toISOString(), by, loan.dueAt ? new Date(loan.dueAt).toISOString() : null],
    );
    return loanOf((await this.sql.get<Row>('SELECT * FROM console_media_loans WHERE id = ?', [id]))!, this.clock.now());
  }

  async giveBack(mediaId: string, by: string): Promise<LoanRecord> {
    if (!(await this.get(mediaId))) throw notFound(msg('error.media.notFound', { id: mediaId }));
    const open = await this.sql.get<Row>('SELECT * FROM console_media_loans WHERE media_id = ? AND returned_at IS NULL', [mediaId]);
    if (!open) throw conflict(msg('error.media.notLent'));
    await this.sql.run('UPDATE console_media_loans SET returned_at = ?, returned_by = ? WHERE id = ?', [this.clock.now().toISOString(), by, String(open.id)]);
    return loanOf((await this.sql.get<Row>('SELECT * FROM console_media_loans WHERE id = ?', [String(open.id)]))!, this.clock.now());
  }

  async loans(mediaId?: string): Promise<LoanRecord[]> {
    if (mediaId && !(await this.get(mediaId))) throw notFound(msg('error.media.notFound', { id: mediaId }));
    const rows = mediaId
      ? await this.sql.all<Row>('SELECT * FROM console_media_loans WHERE media_id = ? ORDER BY lent_at DESC', [mediaId])
      : await this.sql.all<Row>('SELECT * FROM console_media_loans ORDER BY lent_at DESC LIMIT 1000');
    const visible = scopeDepartments() ? new Set((await this.list()).map((m) => m.id)) : undefined;
    const now = this.clock.now();
    return rows.map((r) => loanOf(r, now)).filter((l) => !visible || visible.has(l.mediaId));
  }

  /** The ledger as CSV: Japanese headers and values, or English ones (`lang`); either form imports back. */
  async exportCsv(departments?: string[], lang: Lang = 'ja'): Promise<string> {
    const list = await this.list(departments ? { departments } : {});
    return toCsv(
      MEDIA_CSV_COLUMNS.map((c) => c[lang]),
      list.map((m) => [m.stickerNo, m.fingerprint, m.vendorId, m.productId, m.serial ?? '', m.label, m.owner, m.department, term('encryption', m.encryption, lang), term('mediaStatus', m.status, lang), m.note, m.duplicateSerial ? render(msg('value.true'), lang) : '', m.onLoan ? m.onLoan.borrower : '']),
    );
  }

  /**
   * Import rows by 登録番号: new numbers are registered, known ones updated. All rows are
   * checked first; one bad row refuses the whole file, naming its line.
   */
  async importCsv(text: string, by: string): Promise<{ created: number; updated: number }> {
    const rows = parseUploadedCsv(text);
    if (rows.length === 0) throw badRequest(msg('error.media.csvEmpty'));
    const header = rows[0]!.map((h) => h.trim());
    const index = new Map<string, number>();
    header.forEach((h, i) => {
      const col = MEDIA_CSV_COLUMNS.find((c) => c.ja === h || c.en === h);
      if (col) index.set(col.key, i);
    });
    if (!index.has('stickerNo')) throw badRequest(msg('error.media.csvNoSticker'));
    const inputs: { line: number; input: MediaInput }[] = rows.slice(1).map((r, k) => {
      const get = (key: string): string | undefined => {
        const i = index.get(key);
        return i === undefined ? undefined : unguard(r[i] ?? '').trim();
      };
      const input: MediaInput = { stickerNo: get('stickerNo') ?? '', owner: get('owner') ?? '', department: get('department') ?? '' };
      for (const key of ['fingerprint', 'vendorId', 'productId', 'serial', 'label', 'note'] as const) {
        const v = get(key);
        if (v) input[key] = v;
      }
      const enc = get('encryption');
      if (enc) input.encryption = termValue('encryption', enc, ENCRYPTION) as Encryption;
      const st = get('status');
      if (st) input.status = termValue('mediaStatus', st, MEDIA_STATUS) as MediaStatus;
      return { line: k + 2, input };
    });
    const bySticker = new Map((await this.all()).map((m) => [m.stickerNo, m]));
    for (const { line, input } of inputs) {
      try {
        const m = this.normalise(input);
        // A scoped account imports only its 課' media, and touches no existing row of another 課.
        const where = { ja: `CSV の ${line} 行目`, en: `CSV line ${line}` };
        requireScope(bySticker.get(m.stickerNo)?.department ?? m.department, where);
        requireScope(m.department, where);
      } catch (err) {
        if ((err as { status?: number }).status === 403) throw err;
        throw badRequest(msg('error.media.csvLine', { line, problem: err instanceof ConsoleError ? err.text : (err as Error).message }));
      }
    }
    const seen = new Set<string>();
    for (const { line, input } of inputs) {
      if (seen.has(input.stickerNo)) throw badRequest(msg('error.media.csvTwice', { line, sticker: input.stickerNo }));
      seen.add(input.stickerNo);
    }
    let created = 0;
    let updated = 0;
    for (const { input } of inputs) {
      const existing = await this.sql.get<{ id: string }>('SELECT id FROM console_media WHERE sticker_no = ?', [input.stickerNo.trim()]);
      if (existing) (await this.update(String(existing.id), input), updated++);
      else (await this.register(input, by), created++);
    }
    return { created, updated };
  }
}
