/**
 * `mamori agent configure`, the command every installer writes agent.yml with, run from the
 * agent bundle the packages ship (scripts/package.mjs bundle): the token comes from a file or
 * standard input, and writing the same settings again leaves the file untouched.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AgentConfig } from '../../src/shared/config/agent.js';
import { buildPackages } from './helpers.js';

let out: string;
let dir: string;
const TOKEN = `mmr1.0123456789abcdef.${'e'.repeat(64)}`;
const PIN = 'c0'.repeat(32);

beforeAll(async () => {
  out = await buildPackages(['bundle']);
  dir = mkdtempSync(join(tmpdir(), 'mamori-configure-'));
}, 300_000);

afterAll(() => {
  for (const d of [out, dir]) if (d) rmSync(d, { recursive: true, force: true });
});

/** Run the bundle's `agent configure` with `input` on its standard input. */
function configure(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(out, 'agent', 'mamori-agent.mjs'), 'agent', 'configure', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('mamori agent configure', { timeout: 60_000 }, () => {
  it('reads the token from standard input', async () => {
    const file = join(dir, 'stdin', 'agent.yml');
    const r = await configure(['--config', file, '--collector', 'wss://c.example.lg.jp:8470/agent', '--ca-pin', PIN, '--token-stdin', '--segment', 'lgwan'], `${TOKEN}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(AgentConfig.parse(parse(readFileSync(file, 'utf8'))).enrollToken).toBe(TOKEN);
  });

  it('reads the token from a file; the same settings again leave the file untouched', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `\n${TOKEN}\r\n`, { mode: 0o600 });
    const file = join(dir, 'file', 'agent.yml');
    const args = ['--config', file, '--collector', 'wss://c.example.lg.jp:8470/agent', '--ca-pin', PIN, '--token-file', tokenFile, '--segment', 'mynumber'];
    expect((await configure(args)).code).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(AgentConfig.parse(parse(text)).enrollToken).toBe(TOKEN);
    const written = statSync(file);
    for (const again of [args, ['--config', file], ['--config', file, '--collector', 'wss://c.example.lg.jp:8470/agent']]) {
      const r = await configure(again);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(file, 'utf8')).toBe(text);
      expect(statSync(file).ino).toBe(written.ino); // not even replaced by an identical copy
    }
    expect(text).toMatch(/: mynumber$/m);
  });

  it('an enrolled agent does not store a token again; --re-enroll retires its identity and stores the new token', async () => {
    const state = join(dir, 'enrolled-state');
    const file = join(dir, 'enrolled', 'agent.yml');
    const base = ['--config', file, '--state', state, '--collector', 'wss://old.example.lg.jp:8470/agent', '--ca-pin', PIN];
    expect((await configure([...base, '--token-stdin'], TOKEN)).code).toBe(0);
    // As the agent leaves things once enrolled (identity saved, token removed from the file).
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, 'identity.json'), JSON.stringify({ agentId: `ag_${'a'.repeat(24)}`, secret: 'b'.repeat(64), segment: 'lgwan', collectorUrl: 'wss://old.example.lg.jp:8470/agent', enrolledAt: '2026-12-01T00:00:00.000Z' }));
    writeFileSync(join(state, 'collector-ca.pem'), 'old collector CA');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^enrollToken: .*\n/m, ''));

    const again = await configure([...base, '--token-stdin'], TOKEN);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('登録済みのためトークンは保存しません');
    expect(readFileSync(file, 'utf8')).not.toContain(TOKEN);

    const newToken = `mmr1.fedcba9876543210.${'d'.repeat(64)}`;
    const moved = await configure(['--config', file, '--collector', 'wss://new.example.lg.jp:8470/agent', '--ca-pin', 'd0'.repeat(32), '--segment', 'internet', '--token-stdin', '--re-enroll'], newToken);
    expect(moved.code, moved.stderr).toBe(0);
    const config = AgentConfig.parse(parse(readFileSync(file, 'utf8')));
    expect(config).toMatchObject({ collector: 'wss://new.example.lg.jp:8470/agent', enrollToken: newToken, caFingerprint: Array(32).fill('D0').join(':') });
    expect(readFileSync(file, 'utf8')).toMatch(/: internet$/m);
    // The old identity and the old collector's CA are kept aside; the next start enrolls anew.
    expect(existsSync(join(state, 'identity.json'))).toBe(false);
    expect(existsSync(join(state, 'collector-ca.pem'))).toBe(false);
    const [retired] = readdirSync(join(state, 'retired'));
    expect(readFileSync(join(state, 'retired', retired!, 'collector-ca.pem'), 'utf8')).toBe('old collector CA');
    expect(moved.stdout).toContain('次の起動時に新しいトークンで登録します');

    const noToken = await configure(['--config', file, '--re-enroll']);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('--re-enroll には新しい登録トークンが必要です');
  });

  it.each([
    ['two token sources', ['--token', TOKEN, '--token-stdin'], TOKEN, '登録トークンは --token-file、--token-stdin、--token のどれか 1 つで渡してください'],
    ['an empty token file', ['--token-file', '/dev/null'], '', '登録トークンが空です'],
    ['a missing token file', ['--token-file', '/nonexistent/token'], '', '読めません (ENOENT)'],
    ['empty standard input', ['--token-stdin'], '\n\n', '登録トークンが空です'],
  ])('refuses %s with a usage error and writes nothing', async (_label, tokenArgs, input, message) => {
    const file = join(dir, `refused-${Math.random().toString(36).slice(2)}`, 'agent.yml');
    const r = await configure(['--config', file, '--collector', 'wss://c.example.lg.jp:8470/agent', '--ca-pin', PIN, ...tokenArgs], input);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(() => statSync(file)).toThrow();
  });

  it('keeps zod\'s English messages for a bad configuration, and carries no other language of zod', async () => {
    const file = join(dir, 'bad', 'agent.yml');
    mkdirSync(join(dir, 'bad'), { recursive: true });
    writeFileSync(file, 'collector: wss://c.example.lg.jp:8470/agent\noutboxCapBytes: lots\n');
    const r = await configure(['--config', file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/agent\.yml:2: outboxCapBytes: Invalid input: expected number, received string/);
    // A sentence of zod's Japanese translation (zod/v4/locales/ja.js) is not in the bundle.
    expect(readFileSync(join(out, 'agent', 'mamori-agent.mjs'), 'utf8')).not.toContain('\\u7121\\u52B9\\u306A\\u5165\\u529B');
  });
});

describe('the agent bundle and Node\'s built-in modules', { timeout: 60_000 }, () => {
  it('loads only what it uses of them: no ES module facade reads every export (fs.promises, crypto.webcrypto…)', async () => {
    // The bundle loaded whole (`--version`), then the built-in modules Node loaded for it.
    const list = join(dir, 'modules.json');
    const preload = join(dir, 'modules.cjs');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(process.moduleLoadList)));`);
    const r = await new Promise<number | null>((resolve) => spawn(process.execPath, ['--require', preload, join(out, 'agent', 'mamori-agent.mjs'), '--version'], { stdio: 'ignore' }).on('exit', resolve));
    expect(r).toBe(0);
    const loaded = JSON.parse(readFileSync(list, 'utf8')) as string[];
    expect(loaded).toContain('NativeModule crypto');
    // Loaded only by reading getters the agent never uses: crypto.webcrypto, and fs.promises → readline's promises.
    expect(loaded).not.toContain('NativeModule internal/crypto/webcrypto');
    expect(loaded).not.toContain('NativeModule readline/promises');
  });
});
