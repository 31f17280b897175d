/**
 * A collector reached by an address its certificate does not list: the agent and the console
 * commands say so and name the fix (not a pin mismatch); `mamori collector cert --san` adds the
 * address under the same CA so the same pin enrolls the agent. `mamori scan` / `mamori watch`
 * over HTTPS trust the collector's CA from --data or --ca-pin, and without either fail in one
 * line (no stack trace). Real processes: `mamori collector`, `mamori agent run`, `mamori scan`, `mamori watch`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestJson } from '../../src/cli/collector-client.js';
import { CLI, freePort, Proc, ROOT, startProc, tempDir } from '../helpers/processes.js';

const REPLAY = join(ROOT, 'test', 'fixtures', 'replay', 'linux', 'ubuntu2404-gnome-clamav');
// Every 127/8 address reaches this host's loopback; 127.0.0.2 is not among the names a new certificate gets.
const OTHER_ADDRESS = '127.0.0.2';

const data = tempDir('addr');
const collectorDir = join(data, 'collector');
let port: number;
let pin: string;
let collector: Proc | undefined;
const others: Proc[] = [];

/** A CLI process run from an empty directory (so no ./var/collector is found by default). */
function cli(args: string[], cwd = tempDir('cwd')): Proc {
  const p = new Proc(args[0]!, spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, MAMORI_API_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] }));
  others.push(p);
  return p;
}

async function startCollector(listen: string): Promise<Proc> {
  const p = startProc('collector', [CLI, 'collector', '--data', collectorDir, '--listen', listen, '--heartbeat', '2']);
  await p.waitFor(/証明書の名前: /);
  return p;
}

beforeAll(async () => {
  port = await freePort();
  const init = cli(['collector', 'init', '--data', collectorDir]);
  expect((await init.exited).code).toBe(0);
  pin = (await init.waitFor(/SHA256 ([0-9A-F:]{95})/))[1]!;
  expect(init.lines.join('\n')).toMatch(/証明書の名前: .*127\.0\.0\.1/);
  expect(init.lines.join('\n')).not.toContain(OTHER_ADDRESS);
  collector = await startCollector(`${OTHER_ADDRESS}:${port}`);
});

afterAll(async () => {
  for (const p of others) await p.stop();
  await collector?.stop();
});

function tokenFor(): Promise<string> {
  const t = cli(['token', 'create', '--data', collectorDir]);
  return t.waitFor(/^(mt_\S+|\S+\.\S+\.\S+)$/).then((m) => m[1]!);
}

describe('a collector on an address its certificate lacks', () => {
  it('the agent says the address is missing from the certificate and how to add it, not a pin mismatch', async () => {
    const token = await tokenFor();
    const agent = cli(['agent', 'run', '--replay', REPLAY, '--collector', `wss://${OTHER_ADDRESS}:${port}/agent`, '--ca-pin', pin, '--enroll', token, '--state', join(tempDir('a1'), 'state')]);
    // A refused enrollment does not stop the agent: it says why and tries again later (agent/enrollment.ts).
    await agent.waitFor(/mamori collector cert --san/);
    await agent.stop();
    const out = agent.lines.join('\n');
    expect(out).toMatch(/TLS_NAME_MISMATCH|does not cover the address "127\.0\.0\.2"/);
    expect(out).toContain(`mamori collector cert --san ${OTHER_ADDRESS}`);
    expect(out).not.toMatch(/TLS_PIN_MISMATCH|\n\s+at /);
  });

  it('scan says the same, in one line', async () => {
    const scan = cli(['scan', 'pc1', '--collector', `https://${OTHER_ADDRESS}:${port}`, '--data', collectorDir, '--token', 'x']);
    expect((await scan.exited).code).toBe(2);
    const out = scan.lines.join('\n');
    expect(out).toMatch(/does not cover the address "127\.0\.0\.2" \(it covers: .*127\.0\.0\.1/);
    expect(out).not.toMatch(/\n\s+at /);
  });

  it('collector cert --san adds the address under the same CA; the same pin then enrolls', async () => {
    await collector!.stop();
    const cert = cli(['collector', 'cert', '--san', OTHER_ADDRESS, '--data', collectorDir]);
    expect((await cert.exited).code).toBe(0);
    expect(cert.lines.join('\n')).toMatch(/127\.0\.0\.2 を加えて同じ CA で証明書を再発行しました/);
    const again = cli(['collector', 'init', '--san', OTHER_ADDRESS, '--data', collectorDir]);
    expect((await again.exited).code).toBe(0);
    expect(again.lines.join('\n')).toMatch(/tls はそのままです$/m);
    expect(again.lines.join('\n')).toContain(`SHA256 ${pin}`);
    collector = await startCollector(`${OTHER_ADDRESS}:${port}`);
    expect(collector.lines.join('\n')).toMatch(/証明書の名前: .*127\.0\.0\.2/);
    const token = await tokenFor();
    const agent = cli(['agent', 'run', '--replay', REPLAY, '--collector', `wss://${OTHER_ADDRESS}:${port}/agent`, '--ca-pin', pin, '--enroll', token, '--state', join(tempDir('a2'), 'state')]);
    await agent.waitFor(/enrolled as /, 30_000);
    await agent.stop();
  });
});

describe('scan and watch over HTTPS', () => {
  let token: string;
  const base = () => `https://${OTHER_ADDRESS}:${port}`;

  beforeAll(async () => {
    // The initial admin replaces the one-time password and makes an API token (as an administrator would in the console).
    const ca = readFileSync(join(collectorDir, 'tls', 'ca.crt'), 'utf8');
    const initial = /^password: (.+)$/m.exec(readFileSync(join(collectorDir, 'console-initial-admin.txt'), 'utf8'))![1]!;
    const login = await requestJson<{ csrfToken: string }>('POST', new URL('/api/v1/session', base()), { body: { username: 'admin', password: initial }, ca });
    const headers = { cookie: String([login.headers['set-cookie']].flat()[0]).split(';')[0]!, 'x-csrf-token': login.body.csrfToken };
    expect((await requestJson('POST', new URL('/api/v1/session/password', base()), { headers, body: { current: initial, next: 'Kawasaki-Sec-2026!' }, ca })).status).toBe(200);
    const t = await requestJson<{ token: string }>('POST', new URL('/api/v1/tokens', base()), { headers, body: { name: 'cli' }, ca });
    token = t.body.token;
    expect(token).toBeTruthy();
  });

  it('without --data or --ca-pin: one line naming both options, exit 2, no stack trace', async () => {
    const scan = cli(['scan', 'pc1', '--collector', base(), '--token', token]);
    expect((await scan.exited).code).toBe(2);
    const out = scan.lines.join('\n');
    expect(out).toMatch(/収集サーバーの証明書を信頼できません \(SELF_SIGNED_CERT_IN_CHAIN\).*--data ディレクトリ.*--ca-pin/);
    expect(out).not.toMatch(/\n\s+at /);
    expect(scan.lines).toHaveLength(1);
  });

  it('scan trusts the CA from --data and from --ca-pin', async () => {
    for (const trust of [['--data', collectorDir], ['--data', data], ['--ca-pin', pin]]) {
      const scan = cli(['scan', 'no-such-pc', '--collector', base(), '--token', token, ...trust]);
      expect((await scan.exited).code).toBe(2);
      // The collector answered the request: TLS and the token were accepted.
      expect(scan.lines.join('\n')).toMatch(/POST \/api\/v1\/scans: .*該当する端末がありません/);
    }
  });

  it('a wrong --ca-pin is refused', async () => {
    const scan = cli(['scan', 'pc1', '--collector', base(), '--token', token, '--ca-pin', 'AB'.repeat(32)]);
    expect((await scan.exited).code).toBe(2);
    expect(scan.lines.join('\n')).toMatch(/pinned fingerprint/);
  });

  it('watch streams over wss with the CA from --data, and refuses without it in one line', async () => {
    const watch = cli(['watch', '--collector', base(), '--token', token, '--data', collectorDir]);
    await watch.waitFor(/^admin として監視しています/);
    await watch.stop();
    const bare = cli(['watch', '--collector', base(), '--token', token]);
    expect((await bare.exited).code).toBe(2);
    expect(bare.lines.join('\n')).toMatch(/信頼できません/);
    expect(bare.lines.join('\n')).not.toMatch(/\n\s+at /);
  });
});
