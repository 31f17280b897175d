/**
 * Agent updates on the collector's server: the download of a package (GET /agent/update/:id
 * with the one-time token of an offer, on the agent port, so the agent fetches it over the same
 * pinned TLS as its WebSocket), the offers to connected PCs, and the PCs' reports of each step
 * (agent.notice update.*) as rollout state per PC (rollouts.ts), and the site's signed apt and
 * yum repositories for the PCs' own package managers (repository.ts).
 */
import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { UpdatePlatform } from '../../shared/updates/statement.js';
import type { StoredAgentEvent } from '../bus.js';
import type { CollectorContext } from '../context.js';
import type { CollectorPlugin } from '../plugins.js';
import { repositoryRoute } from './repository.js';
import { AgentUpdates, DOWNLOAD_PATH } from './rollouts.js';
import type { RolloutState } from './rollouts.js';

/** How often rollouts created meanwhile (by the CLI, on another node) are offered to the connected PCs. */
const OFFER_INTERVAL_MS = 5000;

/** The state a PC's report puts its rollout in. */
const REPORTED: Record<string, RolloutState> = { 'update.installing': 'installing', 'update.installed': 'installed', 'update.rolled_back': 'rolled_back', 'update.failed': 'failed' };

const text = (v: unknown, max = 500): string | null => (typeof v === 'string' ? v.slice(0, max) : null);

export function updatesPlugin(o: { offerIntervalMs?: number } = {}): CollectorPlugin {
  return async (app: FastifyInstance, ctx: CollectorContext) => {
    const updates = new AgentUpdates(ctx.store.sql, ctx.dataDir);
    repositoryRoute(app, ctx.dataDir);

    app.get<{ Params: { id: string } }>(`${DOWNLOAD_PATH}:id`, async (req, reply) => {
      const token = /^Bearer ([A-Za-z0-9_-]{32,128})$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const pkg = await updates.downloadable(req.params.id, token);
      if (!pkg) return reply.code(404).type('text/plain; charset=utf-8').send('no such package for this token\n');
      return reply.type('application/octet-stream').header('content-length', pkg.size).send(createReadStream(pkg.file));
    });

    const offer = async (agentId: string) => {
      const frame = await updates.offerFor(agentId);
      if (frame && ctx.gateway.sendTo(agentId, frame)) ctx.log.info(`agent update ${frame.target.version} offered to ${agentId} (rollout ${frame.rolloutId})`);
    };
    const offerAll = async () => {
      for (const agentId of await updates.agentsWithPending(ctx.gateway.connectedAgents)) await offer(agentId);
    };

    const onEvent = (e: StoredAgentEvent) => {
      if (e.event.kind !== 'agent.notice' || !e.event.notice.startsWith('update.')) return;
      const detail = e.event.detail ?? {};
      const work = async () => {
        if (e.event.kind !== 'agent.notice') return;
        if (e.event.notice === 'update.ready') {
          const platform = UpdatePlatform.safeParse(detail.installer);
          await updates.recordInstaller(e.agentId, platform.success ? platform.data : null, text(detail.version, 64) ?? '?', e.event.at);
          await offer(e.agentId);
          return;
        }
        const state = REPORTED[e.event.notice];
        const rolloutId = text(detail.rolloutId, 64);
        if (state && rolloutId) await updates.report(rolloutId, e.agentId, state, text(detail.reason), e.receivedAt);
      };
      work().catch((err: Error) => ctx.log.error(`agent update report of ${e.agentId}: ${err.message}`));
    };
    ctx.bus.on('event', onEvent);
    let timer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      timer = setInterval(() => void offerAll().catch((err: Error) => ctx.log.error(`agent update offers: ${err.message}`)), o.offerIntervalMs ?? OFFER_INTERVAL_MS);
      timer.unref();
    });
    app.addHook('onClose', async () => {
      clearInterval(timer);
      ctx.bus.off('event', onEvent);
    });
  };
}
