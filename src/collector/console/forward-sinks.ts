/**
 * The transports of the forwarders. Each `send` resolves only when the receiver took the
 * whole batch (as far as the transport can tell) and otherwise throws a DeliveryError saying
 * how many of the batch, in order, did arrive: the runner moves its cursor that far and
 * retries the rest.
 *
 *   webhook     one HTTPS/HTTP POST per event, signed (forward-format.ts); any 2xx is taken.
 *   syslog-tcp  RFC 6587 octet counting on one kept-open connection.
 *   syslog-tls  the same over TLS (RFC 5425), the receiver's certificate checked against the
 *               collector's CA or a site CA, and its name against the target host.
 *   syslog-udp  RFC 5426, one datagram per message: UDP has no acknowledgement, so a message
 *               sent while the receiver is down is lost without anyone knowing (documented).
 *
 * A TCP or TLS write counts as delivered once the receiving host's TCP stack accepted it;
 * syslog has no application acknowledgement, so bytes in flight when the receiver crashes
 * can be lost. The connection is dropped as soon as the receiver closes it, so the next batch
 * reconnects (and fails, and is retried) instead of writing into a dead socket.
 */
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ForwardedViolation } from './forward-format.js';
import { WEBHOOK_HEADERS, octetCounted, syslogMessage, webhookSignature } from './forward-format.js';

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** How many events of the batch, from its start, were delivered before the failure. */
    readonly delivered: number,
  ) {
    super(message);
  }
}

export interface Sink {
  send(batch: readonly ForwardedViolation[]): Promise<void>;
  close(): void;
}

const CONNECT_TIMEOUT_MS = 10_000;
const POST_TIMEOUT_MS = 10_000;

/** Japanese text of a network error for the console (the code stays for searching logs). */
export function describeNetworkError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.code ?? e.cause?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: '接続が拒否されました',
    ECONNRESET: '接続が切断されました',
    ETIMEDOUT: '応答がありません (タイムアウト)',
    ENOTFOUND: 'ホスト名を解決できません',
    EHOSTUNREACH: 'ホストに到達できません',
    EPIPE: '接続が切断されました',
    DEPTH_ZERO_SELF_SIGNED_CERT: '受信側の証明書が自己署名です',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: '受信側の証明書を信頼できる CA で検証できません',
    SELF_SIGNED_CERT_IN_CHAIN: '受信側の証明書を信頼できる CA で検証できません',
    ERR_TLS_CERT_ALTNAME_INVALID: '受信側の証明書のホスト名が一致しません',
    CERT_HAS_EXPIRED: '受信側の証明書の有効期限が切れています',
  };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return '応答がありません (タイムアウト)';
  return code && known[code] ? `${known[code]} (${code})` : `送信に失敗しました: ${e.cause?.message ?? e.message}`;
}

export function parseHostPort(target: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(target.trim());
  if (!m || Number(m[3]) > 65535 || Number(m[3]) === 0) return undefined;
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

export class WebhookSink implements Sink {
  private readonly closing = new AbortController();
  constructor(
    private readonly url: string,
    private readonly secret: string,
  ) {}

  async send(batch: readonly ForwardedViolation[]): Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      const v = batch[i]!;
      const body = JSON.stringify(v);
      const timestamp = String(Math.floor(Date.now() / 1000));
      let status: number;
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'user-agent': 'mamori-collector',
            [WEBHOOK_HEADERS.timestamp]: timestamp,
            [WEBHOOK_HEADERS.signature]: webhookSignature(this.secret, timestamp, body),
            [WEBHOOK_HEADERS.eventId]: v.id,
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(POST_TIMEOUT_MS)]),
        });
        status = res.status;
        await res.arrayBuffer().catch(() => undefined);
      } catch (err) {
        throw new DeliveryError(describeNetworkError(err), i);
      }
      if (status < 200 || status > 299) throw new DeliveryError(`受信側が HTTP ${status} を返しました`, i);
    }
  }

  close(): void {
    this.closing.abort();
  }
}

export class StreamSink implements Sink {
  private socket: Socket | undefined;
  private alive = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    /** PEM of the CA the receiver's certificate must chain to; undefined for plain TCP. */
    private readonly tlsCa?: string,
  ) {}

  private open(): Promise<Socket> {
    if (this.socket && this.alive) return Promise.resolve(this.socket);
    this.socket?.destroy();
    return new Promise((resolve, reject) => {
      const ready = this.tlsCa ? 'secureConnect' : 'connect';
      const s = this.tlsCa ? tlsConnect({ host: this.host, port: this.port, ca: this.tlsCa, ...(/^[\d.:]+$/.test(this.host) ? {} : { servername: this.host }) }) : tcpConnect({ host: this.host, port: this.port });
      const timer = setTimeout(() => s.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
      let settled = false;
      s.once(ready, () => {
        settled = true;
        clearTimeout(timer);
        s.setNoDelay(true);
        this.alive = true;
        resolve(s);
      });
      // Kept for the socket's life: a later error only marks it dead (send sees its own write fail).
      s.on('error', (err) => {
        this.alive = false;
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      });
      // The receiver closed: never write into this socket again.
      s.on('end', () => (this.alive = false));
      s.on('close', () => (this.alive = false));
      // Receivers do not talk back; anything read is ignored.
      s.on('data', () => {});
      this.socket = s;
    });
  }

  async send(batch: readonly ForwardedViolation[]): Promise<void> {
    let s: Socket;
    try {
      s = await this.open();
    } catch (err) {
      throw new DeliveryError(describeNetworkError(err), 0);
    }
    const payload = batch.map((v) => octetCounted(syslogMessage(v))).join('');
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new DeliveryError(describeNetworkError(err), 0));
      s.once('error', onError);
      s.write(payload, 'utf8', (err) => {
        s.off('error', onError);
        if (err) reject(new DeliveryError(describeNetworkError(err), 0));
        else resolve();
      });
    });
  }

  close(): void {
    this.alive = false;
    this.socket?.end();
    this.socket?.destroy();
  }
}

export class UdpSink implements Sink {
  private readonly socket: UdpSocket;
  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.socket.on('error', () => {});
    this.socket.unref();
  }

  async send(batch: readonly ForwardedViolation[]): Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      // RFC 5426 §3.2: one message per datagram; receivers must take 480 bytes, should take 2048.
      const buf = Buffer.from(syslogMessage(batch[i]!), 'utf8');
      await new Promise<void>((resolve, reject) => this.socket.send(buf, this.port, this.host, (err) => (err ? reject(new DeliveryError(describeNetworkError(err), i)) : resolve())));
    }
  }

  close(): void {
    this.socket.close();
  }
}
