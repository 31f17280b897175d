/** Parser of the `win.services` document (see windows-script.ts). */
import { z } from 'zod';
import type { CheckOutput } from '../types.js';
import type { ServicesFacts } from './facts.js';
import { partError } from '../software/windows-common.js';

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
  else out.unknownFacts.runningServices = partError(doc.errors, 'services') ?? 'SCRIPT_ERROR: services: サービスの一覧がありません';
  if (doc.features) out.facts.enabledFeatures = doc.features.map((name) => ({ name }));
  else out.unknownFacts.enabledFeatures = partError(doc.errors, 'features') ?? 'SCRIPT_ERROR: features: 機能の一覧がありません';
  if (Object.keys(out.facts).length === 0) {
    out.status = 'unknown';
    out.reason = Object.values(out.unknownFacts).join('; ');
  }
  return out;
}
