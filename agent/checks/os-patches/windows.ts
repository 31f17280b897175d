/**
 * os-patches collector on Windows: OS identity, reboot state and update history every run
 * (`win.os-patches`, on the `inventory` PowerShell process), the Windows Update Agent search of
 * pending updates as a background job whose result is remembered (`win.os-patches.wua`,
 * ./windows-wua.ts), and the release's end of support from src/shared/eol.
 */
import { because, said, setUnknown } from '../why.js';
import type { CheckOutput, Collector } from '../types.js';
import { unknownOutput } from '../types.js';
import type { OsPatchesFacts } from './facts.js';
import { pendingSecuritySince } from './facts.js';
import { loadEolCatalogue, osRelease } from '../../../src/shared/eol/index.js';
import { comDateUtc, partError, partWhy, readPowerShellJson } from '../software/windows-common.js';
import { OS_PATCHES_SCRIPT } from './windows-script.js';
import { wuaSearch } from './windows-wua.js';
import { OsPatchesDocument, lastQualityUpdate, pendingSecurityUpdates, rebootRequired, windowsRelease } from './windows-parse.js';

export const OS_PATCHES_KEY = 'win.os-patches';

const HOUR_MS = 3_600_000;

export const collect: Collector<OsPatchesFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(OS_PATCHES_KEY, OS_PATCHES_SCRIPT, { timeoutMs: 120_000, lane: 'inventory' });
  const doc = readPowerShellJson(OS_PATCHES_KEY, outcome, OsPatchesDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  const now = ctx.probes.now();
  const facts: Partial<OsPatchesFacts> = {};
  const out: CheckOutput<OsPatchesFacts> = { status: 'ok', facts, unknownFacts: {} };

  const release = doc.data.os && !partError(doc.data.errors, 'os') ? windowsRelease(doc.data.os) : undefined;
  if (!release) {
    setUnknown(out, ['osName', 'osId', 'osBuild', 'osEndOfSupport', 'osSupported'], partWhy(doc.data.errors, 'os') ?? because('OS_UNIDENTIFIED', 'why.patch.noCurrentBuild', {}));
  } else {
    facts.osName = release.osName;
    facts.osId = release.osId;
    facts.osBuild = release.osBuild;
    try {
      const eol = osRelease(loadEolCatalogue(), release.osId);
      facts.osEndOfSupport = eol?.eolDate ?? null;
      if (eol?.eolDate) facts.osSupported = eol.eolDate >= now.toISOString().slice(0, 10);
      else setUnknown(out, 'osSupported', because('OS_NOT_IN_CATALOGUE', 'why.patch.windowsNotInCatalogue', { os: release.osId }));
    } catch (err) {
      setUnknown(out, ['osEndOfSupport', 'osSupported'], because('EOL_CATALOGUE_UNAVAILABLE', 'why.eolCatalogue', { error: (err as Error).message }));
    }
  }

  const reboot = rebootRequired(doc.data);
  if (typeof reboot === 'boolean') facts.rebootRequired = reboot;
  else setUnknown(out, 'rebootRequired', reboot);

  const historyError = partWhy(doc.data.errors, 'history');
  if (historyError || !doc.data.history) setUnknown(out, 'lastSuccessfulUpdateAt', historyError ?? because('SCRIPT_ERROR', 'why.beyond.notRead', { part: 'history' }));
  else facts.lastSuccessfulUpdateAt = lastQualityUpdate(doc.data.history)?.at ?? null;

  const wua = await wuaSearch(ctx);
  const searchError = wua.ok ? partWhy(wua.data.errors, 'search') : wua.why;
  if (!wua.ok || searchError) {
    setUnknown(out, ['pendingSecurityUpdates', 'pendingUpdatesTotal', 'oldestPendingSecuritySince', 'oldestUndatedPendingSecuritySince', 'updateSourceAgeHours'], searchError ?? said(''));
  } else {
    const pending = pendingSecurityUpdates(wua.data, ctx.memory.get<Record<string, string>>('pendingFirstSeen') ?? {}, now);
    ctx.memory.set('pendingFirstSeen', pending.firstSeen);
    facts.pendingSecurityUpdates = pending.updates;
    facts.pendingUpdatesTotal = wua.data.updates.length;
    Object.assign(facts, pendingSecuritySince(pending.updates));
    const lastSearch = comDateUtc(wua.data.lastOnlineSearchAt);
    const lastSearchError = partWhy(wua.data.errors, 'last-search');
    if (lastSearchError) setUnknown(out, 'updateSourceAgeHours', lastSearchError);
    else facts.updateSourceAgeHours = lastSearch ? Math.max(0, Math.round(((now.getTime() - Date.parse(lastSearch)) / HOUR_MS) * 10) / 10) : null;
  }
  return out;
};
