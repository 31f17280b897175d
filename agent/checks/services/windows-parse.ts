/** Parser of the `win.services` document (see windows-script.ts). */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { ServicesFacts } from './facts.js';
import { partWhy } from '../software/windows-common.js';
import { allOf, because, setUnknown } from '../why.js';

export const ServicesDocument = z.object({
  schema: z.literal('mamori.win.services/1'),
  services: z.array(z.object({ name: z.string(), state: z.string(), startMode: z.string() })).nullable(),
  features: z.array(z.string()).nullable(),
  errors: z.array(z.object({ part: z.string(), message: z.string() })),
});
export type ServicesDocument = z.infer<typeof ServicesDocument>;

export function servicesFacts(doc: ServicesDocument): CheckOutput<ServicesFacts> {
  const out: CheckOutput<ServicesFacts> = { status: 'ok', facts: {}, unknownFacts: {} };
  if (doc.services) out.facts.runningServices = doc.services.map((s) => ({ name: s.name, state: s.state, startMode: s.startMode }));
  else setUnknown(out, 'runningServices', partWhy(doc.errors, 'services') ?? because('SCRIPT_ERROR', 'why.svc.noServices', {}));
  if (doc.features) out.facts.enabledFeatures = doc.features.map((name) => ({ name }));
  else setUnknown(out, 'enabledFeatures', partWhy(doc.errors, 'features') ?? because('SCRIPT_ERROR', 'why.svc.noFeatures', {}));
  if (Object.keys(out.facts).length === 0) {
    out.status = 'unknown';
    const all = allOf(Object.keys(out.unknownFacts).map((f) => ({ text: out.unknownFacts[f]!, msg: out.unknownMsgs![f]! })));
    out.reason = all.text;
    out.reasonMsg = all.msg;
  }
  return out;
}
