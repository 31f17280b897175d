/**
 * POST /agent/enroll-check on the agent port: the installers (the .deb/.rpm preinst, through
 * `openssl s_client` after checking the CA pin) ask whether their enrollment token would be
 * accepted, before anything is installed. Nothing is used up; a refusal is recorded with the
 * PC's name and address (refusals.ts).
 *
 * Request: JSON {"token": "mmr1…", "hostname": "PC-001"}. Answer, text/plain UTF-8, one item a
 * line so a shell script can read it with `sed`:
 *   200  ok / <segment>
 *   403  refused / <reason code> / <reason in Japanese>
 *   400  bad-request / - / <what is wrong>
 *   429  busy / - / <retry later>
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../../shared/log.js';
import { TokenBucket } from '../gateway/rate-limit.js';
import type { SqlRunner } from '../store/sql.js';
import { REFUSAL_TEXT } from '../../shared/protocol/enrollment-refusal.js';
import { EnrollmentRefusals, clientAddress } from './refusals.js';
import { checkEnrollmentToken } from './token-check.js';

export const INSTALL_CHECK_PATH = '/agent/enroll-check';

const Body = z.object({ token: z.string().max(200), hostname: z.string().max(253) });

function answer(reply: FastifyReply, status: number, lines: string[]) {
  return reply.code(status).type('text/plain; charset=utf-8').send(`${lines.join('\n')}\n`);
}

/** At most a few checks a second per address: a PC pushing once needs one. */
const PER_ADDRESS_RATE = 2;
const PER_ADDRESS_BURST = 10;

export function registerInstallCheck(app: FastifyInstance, o: { sql: SqlRunner; log: Logger; now?: () => Date }): void {
  const refusals = new EnrollmentRefusals(o.sql);
  const buckets = new Map<string, TokenBucket>();
  app.post(INSTALL_CHECK_PATH, async (req, reply) => {
    const address = clientAddress(req.socket.remoteAddress);
    if (buckets.size > 10_000) buckets.clear();
    const bucket = buckets.get(address) ?? new TokenBucket(PER_ADDRESS_RATE, PER_ADDRESS_BURST);
    buckets.set(address, bucket);
    if (!bucket.take()) return answer(reply, 429, ['busy', '-', '問い合わせが多すぎます。しばらくしてから再実行してください']);
    const body = Body.safeParse(req.body);
    if (!body.success) return answer(reply, 400, ['bad-request', '-', `要求の形式が正しくありません: ${body.error.issues[0]?.path.join('.') || 'body'}`]);
    const at = (o.now?.() ?? new Date());
    const check = await checkEnrollmentToken(o.sql, body.data.token.trim(), at);
    if (check.ok) return answer(reply, 200, ['ok', check.segment]);
    await refusals.record({ address, hostname: body.data.hostname, reason: check.reason, stage: 'install-check', tokenId: check.tokenId, at: at.toISOString() });
    o.log.warn(`enrollment check refused for ${body.data.hostname} (${address}): token ${check.reason}`, { tokenId: check.tokenId });
    return answer(reply, 403, ['refused', check.reason, REFUSAL_TEXT[check.reason]]);
  });
}
