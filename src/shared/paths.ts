/**
 * Where the product's data files are: config/ (rule catalogue, sources, end-of-support
 * catalogue). Found by walking up from this module, so it works from the sources (tests),
 * from dist/ (npm start) and from an installed bundle; MAMORI_CONFIG_DIR overrides it.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findConfigDir(): string {
  if (process.env.MAMORI_CONFIG_DIR) return resolve(process.env.MAMORI_CONFIG_DIR);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'config', 'sources.yml'))) return join(dir, 'config');
    dir = dirname(dir);
  }
  throw new Error('config/ of mamori not found (set MAMORI_CONFIG_DIR)');
}

let cached: string | undefined;
/** Absolute path of the config/ directory shipped with the product. */
export function configDir(): string {
  cached ??= findConfigDir();
  return cached;
}
