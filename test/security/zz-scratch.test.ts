import { it, expect } from 'vitest';
import { createServer } from 'node:https';
import { initTls } from '../../src/shared/tls/material.js';
import { fetchPinnedCa } from '../../src/shared/tls/pin.js';
import { mkdtempSync } from 'node:fs';
it('x', async () => {
  const d = mkdtempSync('/tmp/secd-');
  const t0 = Date.now();
  const { material } = await initTls(d);
  console.log('init ms', Date.now() - t0, material.caFingerprint);
  const srv = createServer({ key: material.key, cert: material.cert }, (q, r) => r.end('ok'));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as any).port;
  const pem = await fetchPinnedCa(`wss://127.0.0.1:${port}/agent`, material.caFingerprint);
  expect(pem.trim()).toBe(material.caPem.trim());
  const pem2 = await fetchPinnedCa(`wss://localhost:${port}/agent`, material.caFingerprint);
  await expect(fetchPinnedCa(`wss://localhost:${port}/agent`, 'a'.repeat(64))).rejects.toThrow(/pinned/);
  srv.close();
});
