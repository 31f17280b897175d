/**
 * The live stream at /api/v1/stream: a WebSocket per console watcher (browser or
 * `mamori watch`), authenticated at the upgrade with the session cookie or an API token.
 * Every stored violation event is rendered once and sent to each watcher whose 課 scope
 * covers the PC. Cross-site WebSocket hijacking is refused by checking Origin against Host.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { StoredAgentEvent, ViolationNote } from '../bus.js';
import type { CollectorContext } from '../context.js';
import type { Principal } from './authz.js';
import { can, inScope } from './authz.js';
import { violationKey } from './fleet.js';

export interface StreamDeps {
  ctx: CollectorContext;
  authenticate(req: IncomingMessage): Promise<Principal | undefined>;
  /** Render a stored event into the message watchers get, with the department used for scoping; undefined = not streamed. */
  render(e: StoredAgentEvent): Promise<{ department: string | null; message: Record<string, unknown> } | undefined>;
  /** The 課 of a PC, for scoping what is not an event (a note on one of its violations). */
  departmentOf(agentId: string): string | null;
}

interface Watcher {
  ws: WebSocket;
  principal: Principal;
  alive: boolean;
  /** Ends this watcher's interest in other nodes' events (CollectorBus.watch). */
  unwatch: () => void;
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/** Same-origin check for the upgrade: browsers always send Origin; CLI clients send none. */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export class ConsoleStream {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly watchers = new Set<Watcher>();
  private readonly pinger: NodeJS.Timeout;
  private readonly onEvent = (e: StoredAgentEvent) => void this.publishEvent(e);
  private readonly onOnline = (a: { agentId: string; hostname: string; at: string }) => this.publishRaw(null, { type: 'agent', online: true, ...a });
  private readonly onOffline = (a: { agentId: string; hostname: string; at: string }) => this.publishRaw(null, { type: 'agent', online: false, agentId: a.agentId, hostname: a.hostname, at: a.at });
  private readonly onNote = (n: ViolationNote) =>
    this.publishRaw(this.deps.departmentOf(n.agentId), { type: 'violation.noted', key: violationKey(n.agentId, n.ruleId, n.subject), kind: n.kind, author: n.author, at: n.at, ...(n.kind === 'comment' ? { text: n.text } : {}) });

  constructor(private readonly deps: StreamDeps) {
    deps.ctx.bus.on('event', this.onEvent);
    deps.ctx.bus.on('event.elsewhere', this.onEvent);
    deps.ctx.bus.on('agent.online', this.onOnline);
    deps.ctx.bus.on('agent.offline', this.onOffline);
    deps.ctx.bus.on('violation.noted', this.onNote);
    this.pinger = setInterval(() => {
      for (const w of this.watchers) {
        if (!w.alive) w.ws.terminate();
        else ((w.alive = false), w.ws.ping());
      }
    }, 30_000);
    this.pinger.unref();
  }

  get size(): number {
    return this.watchers.size;
  }

  /** The upgrade handler registered with ctx.registerUpgrade. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void (async () => {
      if (!sameOrigin(req)) return refuse(socket, 403, 'Forbidden');
      let principal: Principal | undefined;
      try {
        principal = await this.deps.authenticate(req);
      } catch {
        principal = undefined;
      }
      if (!principal) return refuse(socket, 401, 'Unauthorized');
      if (principal.mustChangePassword || !can(principal.role, 'stream.watch')) return refuse(socket, 403, 'Forbidden');
      this.wss.handleUpgrade(req, socket, head, (ws) => this.add(ws, principal!));
    })();
  };

  private add(ws: WebSocket, principal: Principal): void {
    const w: Watcher = { ws, principal, alive: true, unwatch: this.deps.ctx.bus.watch() };
    this.watchers.add(w);
    const remove = () => {
      this.watchers.delete(w);
      w.unwatch();
    };
    ws.on('pong', () => (w.alive = true));
    ws.on('close', remove);
    ws.on('error', remove);
    // Watchers only listen; anything they send is ignored.
    ws.send(JSON.stringify({ type: 'hello', user: principal.username, role: principal.role, at: new Date().toISOString() }));
  }

  private async publishEvent(e: StoredAgentEvent): Promise<void> {
    if (this.watchers.size === 0) return;
    const rendered = await this.deps.render(e);
    if (rendered) this.publishRaw(rendered.department, rendered.message);
  }

  /** Send one message (serialised once) to every watcher whose scope covers the department. */
  publishRaw(department: string | null, message: Record<string, unknown>): void {
    if (this.watchers.size === 0) return;
    const text = JSON.stringify(message);
    for (const w of this.watchers) {
      if (w.ws.readyState !== w.ws.OPEN) continue;
      if (!inScope(w.principal, department)) continue;
      w.ws.send(text);
    }
  }

  /** End the sessions of one account (logout, disabled): its watchers are closed. */
  disconnectUser(userId: string): void {
    for (const w of this.watchers) if (w.principal.userId === userId) w.ws.close(4001, 'session ended');
  }

  /**
   * The collector is stopping: tell every open tab (close 1001 "going away"; the page reconnects
   * when the collector is back) and drop those that do not answer within a second. Runs before
   * the HTTP server closes: an upgraded socket is still one of its connections, and a tab left
   * open would otherwise keep the process from exiting on SIGTERM.
   */
  async shutdown(graceMs = 1000): Promise<void> {
    for (const w of this.watchers) w.ws.close(1001, 'collector stopping');
    const until = Date.now() + graceMs;
    while (this.watchers.size && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    this.close();
  }

  close(): void {
    clearInterval(this.pinger);
    this.deps.ctx.bus.off('event', this.onEvent);
    this.deps.ctx.bus.off('event.elsewhere', this.onEvent);
    this.deps.ctx.bus.off('agent.online', this.onOnline);
    this.deps.ctx.bus.off('agent.offline', this.onOffline);
    this.deps.ctx.bus.off('violation.noted', this.onNote);
    for (const w of this.watchers) (w.ws.terminate(), w.unwatch());
    this.wss.close();
  }
}
