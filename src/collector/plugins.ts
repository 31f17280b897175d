/**
 * HTTP features mounted on the collector's server next to the agent endpoint (the console
 * and its API). Each plugin receives the collector context.
 */
import type { FastifyInstance } from 'fastify';
import { consolePlugin } from './console/plugin.js';
import type { CollectorContext } from './context.js';

export type CollectorPlugin = (app: FastifyInstance, ctx: CollectorContext) => Promise<void>;

/** Plugins every collector starts with: the console (screens, /api/v1, live stream, forwarders). */
export const defaultPlugins: CollectorPlugin[] = [consolePlugin()];
