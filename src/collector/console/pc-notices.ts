/**
 * The notices to the person at a PC (agent/notify): every notice shown, held back or that could
 * not be shown, with why, as the agent reported it (agent.notice user.notified /
 * user.notify-skipped / user.notify-failed).
 *   GET /api/v1/pcs/:id/notices   newest first, at most 200
 */
import type { Principal } from './authz.js';
import { forbidden } from './errors.js';
import type { RouteDef } from './http.js';
import type { ConsoleServices } from './services.js';

export const USER_NOTICES = ['user.notified', 'user.notify-skipped', 'user.notify-failed'] as const;

export interface PcNotice {
  at: string;
  outcome: 'shown' | 'skipped' | 'failed';
  ruleId: string | null;
  subject: string | null;
  title: string | null;
  /** Why it was not shown (skipped, failed), in the agent's Japanese. */
  reason: string | null;
  /** Where it was shown: session, user and, on Windows, how (toast, window, pending). */
  sessions: { session: string; user: string; shownAs?: string }[];
  /** Sessions it could not be shown in, each with its reason. */
  failed: { session: string; user: string; reason: string }[];
}

const OUTCOME = { 'user.notified': 'shown', 'user.notify-skipped': 'skipped', 'user.notify-failed': 'failed' } as const;

/** How many of the PC's latest agent notices are looked through (other notices: starts, stops, watchers …). */
const SCAN = 2000;

export async function pcNotices(s: ConsoleServices, agentId: string, limit = 200): Promise<PcNotice[]> {
  const rows = await s.ctx.store.sql.all<{ at: string; payload: string }>("SELECT at, payload FROM events WHERE agent_id = ? AND kind = 'agent.notice' ORDER BY seq DESC LIMIT ?", [agentId, SCAN]);
  const out: PcNotice[] = [];
  for (const r of rows) {
    let e: { notice?: string; detail?: Record<string, unknown> };
    try {
      e = typeof r.payload === 'string' ? JSON.parse(r.payload) : (r.payload as typeof e);
    } catch {
      continue;
    }
    const outcome = OUTCOME[e.notice as keyof typeof OUTCOME];
    if (!outcome) continue;
    const d = e.detail ?? {};
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    out.push({
      at: String(r.at),
      outcome,
      ruleId: str(d.ruleId),
      subject: str(d.subject),
      title: str(d.title),
      reason: str(d.reason),
      sessions: Array.isArray(d.sessions) ? (d.sessions as PcNotice['sessions']) : [],
      failed: Array.isArray(d.failed) ? (d.failed as PcNotice['failed']) : [],
    });
    if (out.length >= limit) break;
  }
  return out;
}

export function pcNoticesRoutes(s: ConsoleServices): RouteDef[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/pcs/:id/notices',
      access: 'pcs.read',
      async handler(req, _reply, p?: Principal) {
        if (!p) throw forbidden();
        const id = (req.params as { id: string }).id;
        // Same access as the PC page: an unknown PC or another 課's PC is not found.
        await s.fleet.pc(p, id);
        return { notices: await pcNotices(s, id) };
      },
    },
  ];
}
