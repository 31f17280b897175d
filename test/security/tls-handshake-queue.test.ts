/**
 * TLS handshakes in turn (src/shared/tls/handshake-queue.ts): a connection waits for its turn
 * unread, its handshake timeout counts from its turn, an idle connection holds a turn only until
 * its own handshake timeout, and one that waited too long is closed. A real collector with TLS
 * as shipped, real sockets.
 */
import { request } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCollector } from '../../src/collector/collector.js';
import type { RunningCollector } from '../../src/collector/collector.js';
import { silentLogger } from '../../src/shared/log.js';
import { initTls } from '../../src/shared/tls/material.js';
import { tempDir } from '../helpers/processes.js';

let collector: RunningCollector | undefined;
afterEach(async () => {
  await collector?.close();
  collector = undefined;
});

async function start(handshakes: { inProgress?: number; maxWaitMs?: number }, handshakeMs: number): Promise<{ c: RunningCollector; ca: string }> {
  const dataDir = tempDir('tls-turns');
  const { material } = await initTls(dataDir);
  collector = await startCollector({ dataDir, host: '127.0.0.1', port: 0, log: silentLogger(), tls: material, handshakes, timeouts: { handshakeMs } });
  return { c: collector, ca: material.caPem };
}

/** A TCP connection that never starts its handshake; resolves its closing when the server closes it. */
function idle(port: number): { socket: Socket; closed: Promise<void> } {
  const socket = tcpConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
}

function healthz(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost', checkServerIdentity: () => undefined }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS handshakes in turn', () => {
  it('starts a waiting handshake when the one before it ends, its timeout counting from its turn', async () => {
    const { c, ca } = await start({ inProgress: 1 }, 1500);
    const order: string[] = [];
    // Two idle connections take the one turn in turn, each until its handshake timeout.
    const first = idle(c.port);
    await expect.poll(() => c.handshakes!().running).toBe(1);
    const second = idle(c.port);
    await expect.poll(() => c.handshakes!().waiting).toBe(1);
    void first.closed.then(() => order.push('first idle closed'));
    void second.closed.then(() => order.push('second idle closed'));
    const answer = healthz(c.port, ca).then((body) => (order.push('client answered'), body));
    await expect.poll(() => c.handshakes!().waiting).toBe(2);
    // The client waited for both (longer than one handshake timeout) and was not cut off.
    expect(JSON.parse(await answer)).toMatchObject({ ok: true });
    expect(order).toEqual(['first idle closed', 'second idle closed', 'client answered']);
    expect(c.handshakes!()).toEqual({ running: 0, waiting: 0, waitedTooLong: 0 });
  });

  it('closes a connection that waited longer than allowed for its turn', async () => {
    const { c, ca } = await start({ inProgress: 1, maxWaitMs: 500 }, 10_000);
    const holder = idle(c.port);
    await expect.poll(() => c.handshakes!().running).toBe(1);
    const refused = healthz(c.port, ca).then(
      () => 'answered',
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    );
    // Closed while the idle connection still holds the turn.
    expect(await refused).toMatch(/ECONNRESET|socket hang up/);
    expect(c.handshakes!()).toMatchObject({ running: 1, waitedTooLong: 1 });
    // The idle connection goes away: the turn is free again and a new client is answered.
    holder.socket.destroy();
    await expect.poll(() => c.handshakes!().running).toBe(0);
    expect(JSON.parse(await healthz(c.port, ca))).toMatchObject({ ok: true });
  });

  it('drops a waiting connection whose client gave up, without a handshake for it', async () => {
    const { c } = await start({ inProgress: 1 }, 10_000);
    const failedHandshakes: string[] = [];
    c.app.server.on('tlsClientError', (err: NodeJS.ErrnoException) => failedHandshakes.push(err.code ?? err.message));
    const holder = idle(c.port);
    await expect.poll(() => c.handshakes!().running).toBe(1);
    // A client sends its hello and gives up (closes) while it waits for its turn.
    const quitter = tcpConnect(c.port, '127.0.0.1');
    quitter.on('error', () => {});
    quitter.write(Buffer.from('160301000100', 'hex'));
    await expect.poll(() => c.handshakes!().waiting).toBe(1);
    quitter.end();
    holder.socket.destroy();
    await expect.poll(() => c.handshakes!()).toEqual({ running: 0, waiting: 0, waitedTooLong: 0 });
    // The holder's handshake ended with its connection; none was started for the quitter.
    expect(failedHandshakes).toEqual(['ECONNRESET']);
  });
});
