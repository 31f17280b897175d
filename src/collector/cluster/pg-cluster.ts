/**
 * Several collector nodes on one PostgreSQL database talk through LISTEN/NOTIFY on one
 * dedicated connection per node.
 *
 * - Events: a NOTIFY payload is limited to 8000 bytes, so a node that stored events notifies
 *   only (agent, first seq, last seq, receivedAt) ranges of the events a console shows live
 *   (LIVE_KINDS); a node where a console watches reads those events from the events table
 *   (they are committed before the notification is sent), one where none watches reads
 *   nothing. (Reading back and parsing every event of every other node made three nodes
 *   slower than one: BENCHMARKS.md.) Matching on
 *   receivedAt as well leaves out events that this flush did not store itself (another node
 *   stored them first after the agent moved), so no node shows an event twice from here.
 * - Frames for an agent connected to another node (a helpdesk scan, a policy push): the frame
 *   goes in the payload when it fits, otherwise into cluster_frames and the payload names it.
 *   Every node receives it; the node that has the agent sends it.
 * - Notes on violations (確認, comments): a comment can be longer than a payload, so the node
 *   that stored one notifies its id; the others read it from console_violation_notes.
 * - The listening connection is re-opened, with backoff, when it drops. Events stored by other
 *   nodes while it was down are not replayed to this node's live stream (they are stored and
 *   visible in the console's lists); the log says when that window happened.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../shared/log.js';
import { CollectorFrame } from '../../shared/protocol/messages.js';
import { LIVE_KINDS } from '../bus.js';
import type { StoredAgentEvent } from '../bus.js';
import type { PostgresStore } from '../store/postgres/postgres-store.js';
import type { Cluster, ClusterHost } from './types.js';

const EVENTS_CHANNEL = 'mamori_events';
const FRAMES_CHANNEL = 'mamori_frames';
const NOTES_CHANNEL = 'mamori_notes';
/** Stay well under PostgreSQL's 8000-byte NOTIFY payload limit (multi-byte host names included). */
const MAX_PAYLOAD_BYTES = 7000;
/** Frames nobody picked up (the agent was connected nowhere) are removed after this long; the agent gets scans and policy at its next connection anyway. */
const FRAME_TTL_MS = 10 * 60_000;

/** An event range one node stored in one flush: [agentId, firstSeq, lastSeq, receivedAt]. */
type Range = [string, number, number, string];

interface EventsNotice {
  node: string;
  ranges: Range[];
}

interface NoteNotice {
  node: string;
  noteId: string;
}

interface FrameNotice {
  node: string;
  agentId: string;
  frame?: unknown;
  /** Row of cluster_frames when the frame was too large for the payload. */
  frameId?: string;
}

export interface PgClusterOptions {
  log: Logger;
  /** First reconnect delay of the listening connection (default 250 ms, doubling to 10 s). */
  reconnectMs?: number;
}

/** Cut ranges into NOTIFY payloads below the size limit. */
export function eventPayloads(node: string, ranges: readonly Range[]): string[] {
  const payloads: string[] = [];
  let current: Range[] = [];
  const text = (rs: Range[]) => JSON.stringify({ node, ranges: rs } satisfies EventsNotice);
  for (const r of ranges) {
    if (current.length > 0 && Buffer.byteLength(text([...current, r])) > MAX_PAYLOAD_BYTES) {
      payloads.push(text(current));
      current = [];
    }
    current.push(r);
  }
  if (current.length > 0) payloads.push(text(current));
  return payloads;
}

/** Ranges of consecutive events of one agent in one flush. */
export function rangesOf(events: readonly StoredAgentEvent[]): Range[] {
  const byKey = new Map<string, Range>();
  for (const e of events) {
    const key = `${e.agentId}\u0000${e.receivedAt}`;
    const through = e.event.kind === 'gap' ? e.event.throughSeq : e.event.seq;
    const r = byKey.get(key);
    if (!r) byKey.set(key, [e.agentId, e.event.seq, through, e.receivedAt]);
    else {
      r[1] = Math.min(r[1], e.event.seq);
      r[2] = Math.max(r[2], through);
    }
  }
  return [...byKey.values()];
}

export class PgCluster implements Cluster {
  /** Tells this node's own notifications apart from the others'. */
  readonly instanceId = randomBytes(8).toString('hex');
  private host: ClusterHost | undefined;
  private listener: pg.Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay: number;
  private droppedAt: string | undefined;
  /** Deliveries run one after the other, in notification order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: PostgresStore,
    private readonly opts: PgClusterOptions,
  ) {
    this.reconnectDelay = opts.reconnectMs ?? 250;
  }

  async start(host: ClusterHost): Promise<void> {
    this.host = host;
    await this.listen();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.store.url, keepAlive: true, application_name: `mamori-cluster-listen:${this.instanceId}` });
    client.on('notification', (msg) => {
      if (!msg.payload) return;
      const payload = msg.payload;
      const handle = msg.channel === EVENTS_CHANNEL ? () => this.onEvents(payload) : msg.channel === NOTES_CHANNEL ? () => this.onNote(payload) : () => this.onFrame(payload);
      this.chain = this.chain.then(handle).catch((err: Error) => {
        this.opts.log.warn('cannot deliver a message from another collector node', { channel: msg.channel, error: err.message });
      });
    });
    client.on('error', (err) => {
      this.opts.log.warn('cluster listening connection failed', { error: err.message });
      this.dropped(client);
    });
    client.on('end', () => this.dropped(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
      await client.query(`LISTEN ${FRAMES_CHANNEL}`);
      await client.query(`LISTEN ${NOTES_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.listener = client;
    this.reconnectDelay = this.opts.reconnectMs ?? 250;
    if (this.droppedAt) {
      this.opts.log.warn('cluster listening connection restored; events other nodes stored meanwhile are not in this node’s live stream', { since: this.droppedAt, until: new Date().toISOString() });
      this.droppedAt = undefined;
    }
  }

  private dropped(client: pg.Client): void {
    if (this.closed || this.listener !== client) return;
    this.listener = undefined;
    this.droppedAt ??= new Date().toISOString();
    client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, 10_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.listen().catch((err: Error) => {
        this.opts.log.warn(`cluster listening connection: reconnect failed, retrying in ${this.reconnectDelay} ms`, { error: err.message });
        this.scheduleReconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }

  publish(events: StoredAgentEvent[]): void {
    const payloads = eventPayloads(this.instanceId, rangesOf(events.filter((e) => LIVE_KINDS.has(e.event.kind))));
    if (payloads.length === 0) return;
    this.store.pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [EVENTS_CHANNEL, payloads]).catch((err: Error) => {
      this.opts.log.warn('cannot tell the other collector nodes about stored events', { error: err.message });
    });
  }

  private async onEvents(payload: string): Promise<void> {
    const notice = JSON.parse(payload) as EventsNotice;
    if (notice.node === this.instanceId || !this.host?.watched()) return;
    const r = notice.ranges;
    const { rows } = await this.store.pool.query<{ agent_id: string; payload: string; received_at: string; hostname: string }>(
      `SELECT e.agent_id, e.payload, e.received_at, a.hostname
       FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) AS r(agent_id, first_seq, last_seq, received_at)
       JOIN events e ON e.agent_id = r.agent_id AND e.seq BETWEEN r.first_seq AND r.last_seq AND e.received_at = r.received_at AND e.kind = ANY($5::text[])
       JOIN agents a ON a.id = e.agent_id
       ORDER BY e.agent_id, e.seq`,
      [r.map((x) => x[0]), r.map((x) => x[1]), r.map((x) => x[2]), r.map((x) => x[3]), [...LIVE_KINDS]],
    );
    if (rows.length === 0) return;
    this.host.deliverEvents(rows.map((row) => ({ agentId: row.agent_id, hostname: row.hostname, receivedAt: row.received_at, event: JSON.parse(row.payload) })));
  }

  publishNote(noteId: string): void {
    const payload = JSON.stringify({ node: this.instanceId, noteId } satisfies NoteNotice);
    this.store.pool.query('SELECT pg_notify($1, $2)', [NOTES_CHANNEL, payload]).catch((err: Error) => {
      this.opts.log.warn('cannot tell the other collector nodes about a note on a violation', { error: err.message });
    });
  }

  private async onNote(payload: string): Promise<void> {
    const notice = JSON.parse(payload) as NoteNotice;
    if (notice.node === this.instanceId || !this.host) return;
    const row = (
      await this.store.pool.query<{ agent_id: string; rule_id: string; subject: string; kind: string; author: string; at: string; text: string }>(
        'SELECT agent_id, rule_id, subject, kind, author, at, text FROM console_violation_notes WHERE id = $1',
        [notice.noteId],
      )
    ).rows[0];
    if (!row || (row.kind !== 'ack' && row.kind !== 'comment')) return;
    this.host.deliverNote({ id: notice.noteId, agentId: row.agent_id, ruleId: row.rule_id, subject: row.subject, kind: row.kind, author: row.author, at: row.at, text: row.text, fromOtherNode: true });
  }

  async sendToAgent(agentId: string, frame: CollectorFrame): Promise<void> {
    const inline = JSON.stringify({ node: this.instanceId, agentId, frame } satisfies FrameNotice);
    let payload = inline;
    if (Buffer.byteLength(inline) > MAX_PAYLOAD_BYTES) {
      const frameId = `fr_${randomBytes(12).toString('hex')}`;
      const now = Date.now();
      await this.store.pool.query('DELETE FROM cluster_frames WHERE created_at < $1', [new Date(now - FRAME_TTL_MS).toISOString()]);
      await this.store.pool.query('INSERT INTO cluster_frames (id, agent_id, frame, created_at) VALUES ($1, $2, $3, $4)', [frameId, agentId, JSON.stringify(frame), new Date(now).toISOString()]);
      payload = JSON.stringify({ node: this.instanceId, agentId, frameId } satisfies FrameNotice);
    }
    await this.store.pool.query('SELECT pg_notify($1, $2)', [FRAMES_CHANNEL, payload]);
  }

  private async onFrame(payload: string): Promise<void> {
    const notice = JSON.parse(payload) as FrameNotice;
    if (notice.node === this.instanceId || !this.host) return;
    let raw = notice.frame;
    if (notice.frameId) {
      const row = (await this.store.pool.query<{ frame: string }>('SELECT frame FROM cluster_frames WHERE id = $1 AND agent_id = $2', [notice.frameId, notice.agentId])).rows[0];
      if (!row) return;
      raw = JSON.parse(row.frame);
    }
    // Frames cross a process boundary: validate them like any other frame.
    const frame = CollectorFrame.parse(raw);
    if (!this.host.sendToLocalAgent(notice.agentId, frame)) return;
    if (notice.frameId) await this.store.pool.query('DELETE FROM cluster_frames WHERE id = $1', [notice.frameId]);
    if (frame.type === 'scan.request') await this.store.markScanSent(frame.requestId, new Date().toISOString());
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => {});
    await this.chain;
  }
}
