/**
 * Linux collector of the services check: active systemd services and sockets (systemctl) and the
 * sockets that accept connections or datagrams (ss -ltnup: TCP listening, UDP bound), with the
 * process that holds each. The agent runs as root, so ss names every process; a socket whose
 * process is not shown makes the list incomplete (read in part), never "nothing listens".
 */
import { allOf, because, failedTo, setUnknown } from '../why.js';
import type { CheckOutput, Collector } from '../types.js';
import type { ServicesFacts } from './facts.js';
import { parseSs, parseUnits } from './linux-parse.js';


export const collect: Collector<ServicesFacts> = async (ctx) => {
  const p = { systemctlPath: '/usr/bin/systemctl', ssPath: '/usr/bin/ss', ...ctx.params } as { systemctlPath: string; ssPath: string };
  const out: CheckOutput<ServicesFacts> = { status: 'ok', facts: {}, unknownFacts: {} };

  const units = await ctx.probes.exec('systemctl.active-units', p.systemctlPath, ['list-units', '--type=service,socket', '--state=active', '--no-legend', '--plain', '--no-pager']);
  if (!units.ok) setUnknown(out, 'runningServices', failedTo(units, 'why.svc.units', {}));
  else out.facts.runningServices = parseUnits(units.stdout);

  const ss = await ctx.probes.exec('ss.listening', p.ssPath, ['-ltnup']);
  const parsed = ss.ok ? parseSs(ss.stdout) : null;
  if (!ss.ok) setUnknown(out, 'listeners', failedTo(ss, 'why.svc.sockets', {}));
  else if (!parsed) setUnknown(out, 'listeners', because('PARSE_FAILED', 'why.svc.ssColumns', { output: { q: ss.stdout.slice(0, 80) } }));
  else {
    out.facts.listeners = parsed.listeners;
    if (parsed.unnamed.length > 0) setUnknown(out, 'listeners', because('PROCESS_UNKNOWN', 'why.svc.unnamed', { sockets: parsed.unnamed.join(', ') }));
  }
  if (Object.keys(out.facts).length === 0) {
    out.status = 'unknown';
    const all = allOf(Object.keys(out.unknownFacts).map((f) => ({ text: out.unknownFacts[f]!, msg: out.unknownMsgs![f]! })));
    out.reason = all.text;
    out.reasonMsg = all.msg;
  }
  return out;
};
