/**
 * Download a package from the collector over HTTPS with the same pinned CA as the agent's
 * WebSocket (the collector's agent port), streamed to a file. The bytes are trusted only after
 * pending.ts packageRefusal has checked them against the signed statement.
 */
import { createWriteStream, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import type { ClientOptions } from 'ws';

// node:http is required, not imported: an ES import of node:http reads every export of the
// module, and Node 22 exports `WebSocket` there as a getter that loads undici, whose HTTP parser
// is WebAssembly — absent under the service's --lite-mode, so the agent died at start
// ("ReferenceError: WebAssembly is not defined"; Node 22.23.3, the Windows runtime under wine).
const { request: httpRequest } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

/** https://host:port/<path> of the collector whose agent endpoint is `agentUrl` (wss://host:port/agent). */
export function downloadUrl(agentUrl: string, path: string): URL {
  const u = new URL(agentUrl);
  return new URL(path, `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`);
}

export function download(url: URL, token: string, to: string, tls: ClientOptions | undefined, maxBytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const options = { headers: { authorization: `Bearer ${token}` }, timeout: 10 * 60_000, ...(tls?.ca ? { ca: tls.ca } : {}), ...(tls?.cert ? { cert: tls.cert, key: tls.key } : {}) };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`${url.pathname}: the collector answered ${res.statusCode}`));
        return;
      }
      let received = 0;
      const out = createWriteStream(to, { mode: 0o600 });
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes) res.destroy(new Error(`${url.pathname}: larger than the ${maxBytes} bytes announced`));
      });
      res.on('error', (err) => {
        out.destroy();
        rmSync(to, { force: true });
        reject(err);
      });
      res.pipe(out);
      out.on('finish', () => resolve());
      out.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url.pathname}: download timed out`)));
    req.on('error', reject);
    req.end();
  });
}
