/**
 * The agent's configuration file (config/agent.example.yml documents every key). Command
 * line flags override it. A broken file stops start-up with a message naming the file, the
 * line and the key.
 */
import { z } from 'zod';
import { loadYamlFile } from '../catalogue/load.js';
import { LIMITS } from '../protocol/messages.js';

export const AgentConfig = z
  .object({
    /** ws:// or wss:// URL of the collector's agent endpoint. */
    collector: z.string().regex(/^wss?:\/\/.+/, 'must be a ws:// or wss:// URL').optional(),
    /** Enrollment token, used once when the state directory has no identity yet. */
    enrollToken: z.string().optional(),
    /** State directory: identity, outbox, check memory (owner-only). */
    stateDir: z.string().optional(),
    /** Directory for the rotated JSON log (owner-only); default <stateDir>/logs. */
    logDir: z.string().optional(),
    /** Cron expression of the full check run (default hourly). The agent also runs at start and on wake. */
    schedule: z.string().default('0 * * * *'),
    /** Size cap of the outbox in bytes (default 256 MiB). */
    // At most LIMITS.maxOutboxCapBytes: the collector bounds a gap by what such an outbox can drop.
    outboxCapBytes: z.number().int().min(1024 * 1024).max(LIMITS.maxOutboxCapBytes).default(256 * 1024 * 1024),
    /** USB enforcement: audit (report only, default) or block (de-authorise unregistered storage). */
    usbEnforcement: z.enum(['audit', 'block']).default('audit'),
    /** SHA-256 fingerprint of the collector CA to pin at first contact (printed by `mamori collector init`); wss only. */
    caFingerprint: z.string().regex(/^(sha-?256[:=/]?)?([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/i, 'must be a SHA-256 fingerprint (64 hex digits, colons optional)').optional(),
    /** Waits between enrollment attempts after a refusal (agent/enrollment.ts): from minSeconds doubling up to maxSeconds (default 60 s … 1 h). */
    enrollRetry: z.object({ minSeconds: z.number().int().min(1), maxSeconds: z.number().int().min(1) }).strict().optional(),
    /** Resource limits of the agent itself (agent/watchdog.ts); defaults follow osquery's watchdog. */
    watchdog: z
      .object({
        memoryLimitMB: z.number().int().min(32).optional(),
        cpuLimitPercent: z.number().min(1).max(100).optional(),
        intervalSeconds: z.number().int().min(1).optional(),
        strikes: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type AgentConfig = z.infer<typeof AgentConfig>;

export function loadAgentConfig(path: string | undefined): AgentConfig {
  return path ? loadYamlFile(path, AgentConfig) : AgentConfig.parse({});
}
