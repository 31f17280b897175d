/**
 * A city's fleet written straight into a store (the store's own ingest, as the gateway does,
 * without agents on the wire): PCs in 課 and segments, each with violations of several kinds,
 * some of them closed again. Used by the console bench and the console browser tests at scale.
 */
import type { Store } from '../../src/collector/store/store.js';
import type { AgentEvent, Segment, Severity, Violation } from '../../src/shared/protocol/messages.js';

export const CITY_DEPARTMENTS = ['税務課', '市民課', '福祉課', '子育て支援課', '保険年金課', '環境課', '建設課', '教育総務課', '会計課', '情報政策課'] as const;
const SEGMENTS: Segment[] = ['lgwan', 'lgwan', 'internet', 'mynumber'];
const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

export interface CityPc {
  id: string;
  hostname: string;
  department: string;
  segment: Segment;
}

export interface City {
  pcs: CityPc[];
  /** Open violations per PC id. */
  open: Map<string, number>;
  totalOpen: number;
  /** Violation events (opened and closed); the results events are not counted. */
  events: number;
}

/** The i-th violation of a PC: USB sticks, unknown software, antivirus, screen lock in turn. */
export function cityViolation(i: number, hostname: string): Violation {
  const kind = i % 4;
  const severity = SEVERITIES[i % SEVERITIES.length]!;
  if (kind === 0) {
    const fp = `0781:5567:${hostname}${String(i).padStart(6, '0')}`;
    return { checkId: 'usb-media', ruleId: 'USB-001', subject: fp, result: 'fail', severity, title: { ja: '媒体管理台帳に登録された媒体だけが接続されていること', en: 'Only media registered in the media ledger are attached' }, message: { ja: `媒体管理台帳に登録されていないUSB記憶媒体 ${fp} が接続されています。`, en: `USB storage device ${fp} is not registered in the media ledger.` }, reason: `USB記憶媒体 ${fp} は媒体管理台帳にありません`, clauses: [{ source: '003', ref: '第4章4(1)ア' }], facts: { devices: [{ fingerprint: fp }] }, user: `user${i % 50}` };
  }
  if (kind === 1) {
    const name = `unapproved-tool-${i}`;
    return { checkId: 'software', ruleId: 'SW-001', subject: name, result: 'fail', severity, title: { ja: '許可されていないソフトウェアがないこと', en: 'No unapproved software' }, message: { ja: `許可されていないソフトウェア ${name} が導入されています。`, en: `Unapproved software ${name} is installed.` }, reason: `${name} は許可リストにありません`, clauses: [{ source: '003', ref: '第6章1(2)' }], facts: { name } };
  }
  if (kind === 2) return { checkId: 'antivirus', ruleId: 'AV-002', subject: `pattern-${i}`, result: 'fail', severity, title: { ja: 'ウイルス対策の定義ファイルが新しいこと', en: 'Antivirus definitions are current' }, message: { ja: `定義ファイルが ${7 + (i % 30)} 日更新されていません。`, en: `Definitions are ${7 + (i % 30)} days old.` }, reason: `定義ファイルの経過日数 ${7 + (i % 30)} 日 (上限 7 日)`, clauses: [{ source: '003', ref: '第6章2(1)' }], facts: {} };
  return { checkId: 'screen-lock', ruleId: 'LOCK-001', subject: `lock-${i}`, result: i % 8 === 3 ? 'unknown' : 'fail', severity, title: { ja: '画面ロックが設定されていること', en: 'Screen lock is set' }, message: { ja: '画面ロックまでの時間が長すぎます。', en: 'Screen lock timeout too long.' }, reason: `画面ロックまで ${15 + (i % 45)} 分 (上限 10 分)`, clauses: [{ source: '003', ref: '第6章3(1)' }], facts: {} };
}

/**
 * Write `pcs` PCs with `perPc` violation events each (every `closeEvery`-th one is closed again
 * by a later event, which counts as an event too). 課 are assigned in the store (agents.department).
 */
export interface SeedOptions {
  pcs: number;
  perPc: number;
  closeEvery?: number;
  at?: Date;
  /** Spread the PCs' events over this many days before `at` (PC n on day n mod days); default: all in the last hours. */
  days?: number;
  /** Also store a `results` event per PC and check for these rules (what the 自己点検 report counts): see cityResult. */
  results?: readonly { ruleId: string; checkId: string }[];
}

/** The result of rule number r on PC number n: mostly pass, every 5th fail, every 11th unknown. */
export function cityResult(n: number, r: number): 'pass' | 'fail' | 'unknown' {
  const x = (n * 7 + r * 3) % 55;
  return x % 11 === 0 ? 'unknown' : x % 5 === 0 ? 'fail' : 'pass';
}

export async function seedCity(store: Store, opts: SeedOptions): Promise<City> {
  const at = (opts.at ?? new Date()).getTime();
  const pcs: CityPc[] = Array.from({ length: opts.pcs }, (_, n) => {
    const department = CITY_DEPARTMENTS[n % CITY_DEPARTMENTS.length]!;
    const hostname = `${['ZEIMU', 'SHIMIN', 'FUKUSHI', 'KOSODATE', 'HOKEN', 'KANKYO', 'KENSETSU', 'KYOIKU', 'KAIKEI', 'JOHO'][n % 10]}-PC${String(n).padStart(5, '0')}`;
    return { id: `ag_city${String(n).padStart(6, '0')}${'x'.repeat(14)}`, hostname, department, segment: SEGMENTS[n % SEGMENTS.length]! };
  });
  const iso = (ms: number) => new Date(ms).toISOString();
  for (const pc of pcs) await store.createAgent({ id: pc.id, secret: 'f'.repeat(64), hostname: pc.hostname, os: { platform: n(pc) % 3 === 0 ? 'linux' : 'windows', hostname: pc.hostname, release: n(pc) % 3 === 0 ? '6.1.0' : '10.0.22631' }, agentVersion: '0.1.0', segment: pc.segment, enrolledAt: iso(at - 3_600_000), tokenId: 'tok' });
  // Seen a moment ago: no PC of the city is silent (AGENT-001) while a bench or test runs.
  await store.touchAgents(new Map(pcs.map((pc) => [pc.id, { at: iso(at), policyVersion: 1 }])));
  for (const dep of CITY_DEPARTMENTS) await store.setDepartments(pcs.filter((p) => p.department === dep).map((p) => p.id), dep);
  const open = new Map<string, number>();
  let events = 0;
  const closeEvery = opts.closeEvery ?? 0;
  for (let i = 0; i < pcs.length; i += 100) {
    const batches = pcs.slice(i, i + 100).map((pc) => {
      const evs: AgentEvent[] = [];
      let seq = 0;
      let stillOpen = 0;
      for (let k = 0; k < opts.perPc; k++) {
        const v = cityViolation(k, pc.hostname);
        const t = at - (opts.perPc - k) * 60_000 - (opts.days ? (n(pc) % opts.days) * 86_400_000 : n(pc) * 1000);
        if (closeEvery && k % closeEvery === closeEvery - 1 && evs.length > 0) {
          const last = evs[evs.length - 1]! as Extract<AgentEvent, { kind: 'violation.opened' }>;
          evs.push({ seq: ++seq, at: iso(t), kind: 'violation.closed', checkId: last.violation.checkId, ruleId: last.violation.ruleId, subject: last.violation.subject, reason: 'resolved' });
          stillOpen--;
        } else {
          evs.push({ seq: ++seq, at: iso(t), kind: 'violation.opened', violation: v, policyVersion: 1 });
          stillOpen++;
        }
      }
      events += evs.length;
      const checks = [...new Set((opts.results ?? []).map((r) => r.checkId))];
      for (const checkId of checks) {
        const results = (opts.results ?? []).map((r, i) => ({ ...r, i })).filter((r) => r.checkId === checkId).map((r) => ({ ruleId: r.ruleId, subject: '', result: cityResult(n(pc), r.i), reason: '' }));
        evs.push({ seq: ++seq, at: iso(at - 30_000), kind: 'results', checkId: checkId as never, policyVersion: 1, results });
      }
      open.set(pc.id, stillOpen);
      return { agentId: pc.id, events: evs };
    });
    const out = await store.ingest(batches, iso(at));
    if (out.rejected.size) throw new Error(`seed rejected: ${[...out.rejected.values()][0]!.message}`);
  }
  return { pcs, open, totalOpen: [...open.values()].reduce((a, b) => a + b, 0), events };
}

const n = (pc: CityPc): number => Number(pc.id.slice(7, 13));
