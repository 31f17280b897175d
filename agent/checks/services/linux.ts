/**
 * Linux collector of the services check: active systemd services and sockets (systemctl) and the
 * sockets that accept connections or datagrams (ss -ltnup: TCP listening, UDP bound), with the
 * process that holds each. The agent runs as root, so ss names every process; a socket whose
 * process is not shown makes the list incomplete (read in part), never "nothing listens".
 */
import type { ProbeOutcome } from '../../probes/types.js';
import type { CheckOutput, Collector } from '../types.js';
import type { ServicesFacts } from './facts.js';
import { parseSs, parseUnits } from './linux-parse.js';

/** `CODE: 何が読めないか (probe detail)`, the form the evaluator explains in words. */
const why = (o: Extract<ProbeOutcome, { ok: false }>, what: string): string => `${o.failure}: ${what} (${o.detail})`;

export const collect: Collector<ServicesFacts> = async (ctx) => {
  const p = { systemctlPath: '/usr/bin/systemctl', ssPath: '/usr/bin/ss', ...ctx.params } as { systemctlPath: string; ssPath: string };
  const out: CheckOutput<ServicesFacts> = { status: 'ok', facts: {}, unknownFacts: {} };

  const units = await ctx.probes.exec('systemctl.active-units', p.systemctlPath, ['list-units', '--type=service,socket', '--state=active', '--no-legend', '--plain', '--no-pager']);
  if (!units.ok) out.unknownFacts.runningServices = why(units, 'systemd のユニット一覧を読めません');
  else out.facts.runningServices = parseUnits(units.stdout);

  const ss = await ctx.probes.exec('ss.listening', p.ssPath, ['-ltnup']);
  const parsed = ss.ok ? parseSs(ss.stdout) : null;
  if (!ss.ok) out.unknownFacts.listeners = why(ss, '待ち受けているソケットを読めません');
  else if (!parsed) out.unknownFacts.listeners = `PARSE_FAILED: ss -ltnup の出力を列の構造どおりに読めません: ${JSON.stringify(ss.stdout.slice(0, 80))}`;
  else {
    out.facts.listeners = parsed.listeners;
    if (parsed.unnamed.length > 0) out.unknownFacts.listeners = `PROCESS_UNKNOWN: 待ち受けているプロセスが分からないソケットがあります (${parsed.unnamed.join(', ')})`;
  }
  if (Object.keys(out.facts).length === 0) {
    out.status = 'unknown';
    out.reason = Object.values(out.unknownFacts).join('; ');
  }
  return out;
};
