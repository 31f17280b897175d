/**
 * The site's signed package repositories, served by the collector itself on its port and TLS,
 * so a PC's apt or dnf reads them from the collector it already trusts (the pinned CA):
 *
 *   <data>/repository/apt/   scripts/apt-repository.mjs --out …   → https://<collector>/repo/apt/
 *   <data>/repository/yum/   scripts/yum-repository.mjs --out …   → https://<collector>/repo/yum/
 *
 * Read-only and without a login: the files hold nothing secret (no token, no key), and apt and
 * dnf trust them only through the site's GPG signatures (InRelease, repomd.xml.asc, the .rpm's
 * own), not through the collector. Only regular files inside the directory are served.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';

export const REPOSITORY_PATH = '/repo/';

const TYPES: Record<string, string> = { '.xml': 'application/xml', '.gz': 'application/gzip', '.asc': 'text/plain; charset=utf-8', '.gpg': 'application/pgp-signature' };

export const repositoryDir = (dataDir: string) => join(dataDir, 'repository');

/** The file a request path names inside `root`, or undefined (outside it, a link leading out, not a regular file, absent). */
async function servedFile(root: string, path: string): Promise<{ file: string; size: number; mtime: Date } | undefined> {
  if (path.includes('\0')) return undefined;
  try {
    const base = await realpath(root);
    const file = await realpath(join(base, path));
    if (!file.startsWith(base + sep)) return undefined;
    const st = await stat(file);
    return st.isFile() ? { file, size: st.size, mtime: st.mtime } : undefined;
  } catch {
    return undefined;
  }
}

export function repositoryRoute(app: FastifyInstance, dataDir: string): void {
  app.get<{ Params: { '*': string } }>(`${REPOSITORY_PATH}*`, async (req, reply) => {
    const found = await servedFile(repositoryDir(dataDir), req.params['*']);
    if (!found) return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
    // apt asks with If-Modified-Since for the indexes it already has.
    const since = Date.parse(req.headers['if-modified-since'] ?? '');
    if (!Number.isNaN(since) && Math.floor(found.mtime.getTime() / 1000) <= Math.floor(since / 1000)) return reply.code(304).send();
    return reply
      .type(TYPES[extname(found.file)] ?? 'application/octet-stream')
      .header('content-length', found.size)
      .header('last-modified', found.mtime.toUTCString())
      .send(createReadStream(found.file));
  });
}
