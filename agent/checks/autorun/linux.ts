/**
 * Linux collector of the autorun check: GNOME's media handling (gsettings-desktop-schemas
 * org.gnome.desktop.media-handling: autorun-never — never ask to run software or open folders for
 * inserted media; automount-open — open a file manager window for a mounted drive), read as the
 * agent with the system dconf databases, and whether each key is locked (`gsettings writable` →
 * false, a dconf lock), because a setting the user can switch back is not a measure taken for the PC.
 * Other desktops' handlers (thunar-volman, KDE device notifier) are not read. Antivirus scanning of
 * removable drives and write denial are not read on Linux (facts null).
 */
import { because, failedTo, setUnknown, type Why } from '../why.js';
import type { CheckOutput, Collector } from '../types.js';
import { parseGsettingsList, parseGVariant } from '../screen-lock/linux-parse.js';
import type { AutorunFacts } from './facts.js';

const SCHEMA = 'org.gnome.desktop.media-handling';

export const collect: Collector<AutorunFacts> = async (ctx) => {
  const gsettings = String(ctx.params.gsettingsPath ?? '/usr/bin/gsettings');
  const out: CheckOutput<AutorunFacts> = { status: 'ok', facts: { autoRunOff: null, removableDriveScan: null, removableWriteDenied: null, removableWriteControl: null }, unknownFacts: {} };
  const fail = (reason: Why): CheckOutput<AutorunFacts> => {
    setUnknown(out, ['autoPlayOff', 'autoPlaySource'], reason);
    return out;
  };
  const list = await ctx.probes.exec('gsettings.media-handling', gsettings, ['list-recursively', SCHEMA]);
  if (!list.ok) return fail(failedTo(list, 'why.autorun.schemaUnread', { schema: SCHEMA }));
  const values = parseGsettingsList(list.stdout);
  const never = values.get('autorun-never');
  const open = values.get('automount-open');
  // gsettings prints nothing for a schema that is not installed ("No such schema" on stderr, exit 1 is the usual case).
  if (typeof never !== 'boolean' || typeof open !== 'boolean') return fail(because('PARSE_FAILED', 'why.autorun.keysMissing', { schema: SCHEMA }));
  const unlocked: string[] = [];
  for (const key of ['autorun-never', 'automount-open']) {
    const w = await ctx.probes.exec(`gsettings.media-handling.writable.${key}`, gsettings, ['writable', SCHEMA, key]);
    if (!w.ok) return fail(failedTo(w, 'why.autorun.lockUnread', { key }));
    const v = parseGVariant(w.stdout);
    if (typeof v !== 'boolean') return fail(because('PARSE_FAILED', 'why.autorun.writableOutput', { key, output: { q: w.stdout.trim().slice(0, 40) } }));
    if (v) unlocked.push(key);
  }
  out.facts.autoPlayOff = never && !open && unlocked.length === 0;
  out.facts.autoPlaySource = `gsettings ${SCHEMA} autorun-never=${never} automount-open=${open}${unlocked.length ? ` (利用者が変更可能: ${unlocked.join(', ')})` : ' (dconf でロック)'}`;
  return out;
};
