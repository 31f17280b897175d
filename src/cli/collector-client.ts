/**
 * How `mamori scan` / `mamori watch` reach a collector's console API over HTTPS: they trust the
 * collector's own CA the way an agent does, either from the collector's data directory
 * (DIR/tls/ca.crt, or DIR/collector/tls/ca.crt for the directory of `mamori up`) or from the
 * CA fingerprint (`--ca-pin`, checked against the chain the collector presents). Without either,
 * ./var/collector (the default data directory) is used when it holds a CA. Connection and
 * certificate failures become one-line errors that name the fix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { TlsError } from '../shared/tls/errors.js';
import { fetchPinnedCa, nameMismatch } from '../shared/tls/pin.js';
import { UsageError } from './errors.js';
import { t } from './lang.js';

export interface TrustOptions {
  /** The collector's data directory (its tls/ca.crt is trusted). */
  data?: string;
  /** The CA fingerprint printed by `mamori collector` / `mamori up`. */
  caPin?: string;
}

/** Where a data directory keeps the CA certificate: a collector's DIR/tls, or `mamori up`'s DIR/collector/tls. */
function caFileOf(dir: string): string | undefined {
  return [join(dir, 'tls', 'ca.crt'), join(dir, 'collector', 'tls', 'ca.crt')].find((f) => existsSync(f));
}

/** The CA PEM to trust for this collector URL; undefined for http:// (and for https:// with nothing to trust, which then fails with a clear error). */
export async function collectorCa(url: URL, o: TrustOptions): Promise<string | undefined> {
  if (url.protocol !== 'https:' && url.protocol !== 'wss:') return undefined;
  if (o.caPin) return fetchPinnedCa(url.href, o.caPin);
  if (o.data) {
    const file = caFileOf(resolve(o.data));
    if (!file) throw new UsageError(t('cli.client.noCa', { dir: o.data, file: join(o.data, 'tls', 'ca.crt') }));
    return readFileSync(file, 'utf8');
  }
  const fallback = caFileOf(resolve('var', 'collector'));
  return fallback ? readFileSync(fallback, 'utf8') : undefined;
}

/** Certificate-verification codes of node's TLS (openssl's X509_V_ERR names). */
const UNTRUSTED = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_SIGNATURE_FAILURE', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** A connection error as the one-line error the CLI prints (certificate name, untrusted CA, unreachable). */
export function connectionError(err: unknown, url: URL): Error {
  const e = err as NodeJS.ErrnoException & { cert?: { subjectaltname?: string }; host?: string };
  if (err instanceof TlsError || err instanceof UsageError) return err;
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return nameMismatch(url.hostname.replace(/^\[|\]$/g, ''), e.cert?.subjectaltname);
  if (e.code && UNTRUSTED.has(e.code)) {
    return new TlsError('TLS_UNTRUSTED', t('cli.client.untrusted', { host: url.host, code: e.code }));
  }
  return new UsageError(t('cli.client.unreachable', { host: url.host, detail: `${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ').trim() }));
}

export interface JsonResponse<T> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

/** One HTTP(S) request with a JSON body and answer, verifying https against `ca` when given. */
export function requestJson<T>(method: string, url: URL, o: { headers?: Record<string, string>; body?: unknown; ca?: string }): Promise<JsonResponse<T>> {
  const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
  const headers = { ...o.headers, ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}) };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolvePromise, reject) => {
    const req = send(url, { method, headers, ...(o.ca ? { ca: [o.ca] } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: unknown = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          // A body that is not JSON (a proxy's error page): the status says what happened.
        }
        resolvePromise({ status: res.statusCode ?? 0, body: body as T, headers: res.headers });
      });
      res.on('error', (err) => reject(connectionError(err, url)));
    });
    req.on('error', (err) => reject(connectionError(err, url)));
    req.end(payload);
  });
}
