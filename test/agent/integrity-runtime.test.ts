/**
 * The runtime an agent judges is the file on disk: an agent started while a package upgrade
 * replaced node has "<path> (deleted)" as its process.execPath (proc(5), /proc/[pid]/exe).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentFiles, fileSha256, runtimeOnDisk } from '../../agent/integrity.js';
import { tempDir } from '../helpers/processes.js';

describe('the runtime file judged by the integrity check', () => {
  it('drops the suffix proc(5) gives a replaced executable, and only then', () => {
    const dir = tempDir('runtime-on-disk');
    const node = join(dir, 'node');
    writeFileSync(node, 'runtime');
    expect(runtimeOnDisk(`${node} (deleted)`)).toBe(node);
    expect(runtimeOnDisk(node)).toBe(node);
    // A file really named so (nothing replaced) is itself.
    writeFileSync(`${node}2 (deleted)`, 'odd name');
    expect(runtimeOnDisk(`${node}2 (deleted)`)).toBe(`${node}2 (deleted)`);
  });

  it('hashes the new file at the path, not nothing, for a runtime replaced under the running agent', async () => {
    const dir = tempDir('runtime-replaced');
    mkdirSync(join(dir, 'lib'));
    const bundle = join(dir, 'lib', 'mamori-agent.mjs');
    writeFileSync(bundle, 'export {};');
    const node = join(dir, 'node');
    copyFileSync(bundle, node);
    const files = await currentFiles({ programPath: bundle, runtimePath: runtimeOnDisk(`${node} (deleted)`) });
    expect(files.program[node]).toBe(await fileSha256(node));
    expect(files.program[node]).not.toBeNull();
    expect(Object.keys(files.program).some((p) => p.endsWith('(deleted)'))).toBe(false);
  });
});
