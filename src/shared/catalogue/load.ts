/**
 * Loading of the rule catalogue from config/rules/*.yml and config/sources.yml, with errors
 * that name the file, the line and the key.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { RuleFile, SourcesFile } from './schema.js';
import type { Rule, Source } from './schema.js';

export class CatalogueLoadError extends Error {
  readonly code = 'CATALOGUE_LOAD';
}

/** Parse a YAML file against a schema; errors name the file, line and key path. */
export function loadYamlFile<S extends z.ZodType>(path: string, schema: S): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CatalogueLoadError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new CatalogueLoadError(`${path}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const node = doc.getIn(issue.path as (string | number)[], true) as { range?: [number, number] } | undefined;
    const line = node?.range ? text.slice(0, node.range[0]).split('\n').length : '?';
    throw new CatalogueLoadError(`${path}:${line}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  // The parsed strings are slices of the file's text (V8 keeps a substring of 13 characters or
  // more as a view into its parent), so one short title would keep the whole text, comments
  // included, in memory for as long as the catalogue is kept (the agent keeps the rule and EOL
  // catalogues for its lifetime: ~0.3 MB of YAML). A copy holds only the values.
  return structuredClone(parsed.data);
}

export interface Catalogue {
  rules: Rule[];
  sources: Source[];
}

/** Default location: config/ next to the package root (resolved by the caller). */
export function loadCatalogue(configDir: string): Catalogue {
  const rulesDir = join(configDir, 'rules');
  const files = readdirSync(rulesDir).filter((f) => f.endsWith('.yml')).sort();
  const rules = files.flatMap((f) => loadYamlFile(join(rulesDir, f), RuleFile).rules);
  const sources = loadYamlFile(join(configDir, 'sources.yml'), SourcesFile).sources;
  return { rules, sources };
}
