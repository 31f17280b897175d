/**
 * software collector on Windows: one PowerShell script (windows-script.ts) lists the
 * Uninstall entries (machine, WOW6432Node, each loaded user hive), Appx packages and running
 * processes; windows-parse.ts turns it into facts and the end-of-support catalogue
 * (src/shared/eol) names what is out of support.
 */
import type { CheckOutput, Collector } from '../types.js';
import { because, said, setUnknown } from '../why.js';
import { unknownOutput } from '../types.js';
import type { SoftwareFacts } from './facts.js';
import { loadEolCatalogue, matchSoftware } from '../../../src/shared/eol/index.js';
import { readPowerShellJson } from './windows-common.js';
import { SOFTWARE_SCRIPT } from './windows-script.js';
import { SoftwareDocument, softwareUnknowns, windowsPackages, windowsProcesses } from './windows-parse.js';

/** Probe key of the script; also the file name in a recording (`win.software.out`). */
export const SOFTWARE_KEY = 'win.software';

export const collect: Collector<SoftwareFacts> = async (ctx) => {
  const outcome = await ctx.probes.powershell(SOFTWARE_KEY, SOFTWARE_SCRIPT, { timeoutMs: 120_000, lane: 'inventory' });
  const doc = readPowerShellJson(SOFTWARE_KEY, outcome, SoftwareDocument);
  if (!doc.ok) return unknownOutput(doc.why);
  const unknownFacts = softwareUnknowns(doc.data.errors);
  const facts: Partial<SoftwareFacts> = {};
  const out: CheckOutput<SoftwareFacts> = { status: 'ok', facts, unknownFacts };
  if (!unknownFacts.processes) facts.processes = windowsProcesses(doc.data);
  // A failed part (e.g. Get-AppxPackage denied) leaves the other parts' packages known: a denied or
  // ended product among them is still judged, and the rule evaluator never passes an incomplete list.
  const packages = windowsPackages(doc.data);
  const incomplete = unknownFacts.packages;
  if (!incomplete || packages.length > 0) {
    facts.packages = packages;
    try {
      const catalogue = loadEolCatalogue();
      facts.endOfSupport = matchSoftware(catalogue, packages, 'windows');
      facts.catalogueDate = catalogue.date;
      if (incomplete) setUnknown(out, 'endOfSupport', because('NOT_READ', 'why.sw.inventoryIncomplete', { cause: said(incomplete).msg }));
    } catch (err) {
      setUnknown(out, ['endOfSupport', 'catalogueDate'], because('EOL_CATALOGUE_UNAVAILABLE', 'why.eolCatalogue', { error: (err as Error).message }));
    }
  } else setUnknown(out, 'endOfSupport', said(incomplete));
  return out;
};
