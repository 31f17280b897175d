/**
 * HTTP features mounted on the collector's server next to the agent endpoint (the console
 * and its API). Each plugin receives the collector context.
 */
import type { FastifyInstance } from 'fastify';
import { consolePlugin } from './console/plugin.js';
import type { CollectorContext } from './context.js';
import { retentionPlugin } from './retention.js';
import { updatesPlugin } from './updates/plugin.js';

export type CollectorPlugin = (app: FastifyInstance, ctx: CollectorContext) => Promise<void>;

/**
 * Plugins every collector starts with: the console (screens, /api/v1, live stream,
 * forwarders), the background pruning of old events and closed violations (periods are
 * mamori's defaults, see retention.ts; no standard fixes them) and agent updates (updates/).
 */
export const defaultPlugins: CollectorPlugin[] = [consolePlugin(), retentionPlugin(), updatesPlugin()];
