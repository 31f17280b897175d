/** Shared pieces of the security tests: a TLS collector in-process, file modes, a fixture PC. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startCollector } from '../../src/collector/collector.js';
import type { CollectorOptions, RunningCollector } from '../../src/collector/collector.js';
import { createEnrollmentToken } from '../../src/collector/tokens.js';
import { silentLogger } from '../../src/shared/log.js';
import { initTls } from '../../src/shared/tls/material.js';
import type { TlsMaterial } from '../../src/shared/tls/material.js';
import { ROOT, tempDir } from '../helpers/processes.js';
import { trustCollector } from '../helpers/raw-client.js';

/** A recorded Linux PC (see its meta.json) for agents that must run the real checks without touching this machine. */
export const REPLAY_PC = join(ROOT, 'test/fixtures/replay/linux/ubuntu2404-gnome-clamav');

export interface TlsCollector extends RunningCollector {
  tls: TlsMaterial;
}

/** An in-process collector serving HTTPS/WSS with a fresh CA; raw clients of the test trust it. */
export async function startTlsCollector(opts: Partial<CollectorOptions> = {}): Promise<TlsCollector> {
  const dataDir = opts.dataDir ?? tempDir('sec-collector');
  const { material } = await initTls(dataDir);
  const c = await startCollector({ dataDir, log: silentLogger(), plugins: [], ...opts, tls: material });
  trustCollector(c.agentUrl, material.caPem, material.caFingerprint);
  return Object.assign(c, { tls: material });
}

export async function newToken(c: RunningCollector, expiresInMs = 60_000): Promise<string> {
  return (await createEnrollmentToken(c.store, { segment: 'lgwan', expiresInMs, singleUse: false })).token;
}

/** Permission bits of a path, e.g. 0o600. */
export function mode(path: string): number {
  return statSync(path).mode & 0o777;
}
