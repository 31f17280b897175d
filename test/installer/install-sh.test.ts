/**
 * installer/linux/install.sh: what it hands to apt-get. apt-get, dpkg-query and id are replaced
 * by recording stand-ins on PATH (the real install of the package and its maintainer scripts is
 * deb.test.ts); everything else in the script runs as it is.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO, run } from './helpers.js';

const SCRIPT = join(REPO, 'installer/linux/install.sh');
let dir: string;

function stub(name: string, body: string): void {
  writeFileSync(join(dir, 'bin', name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, 'bin', name), 0o755);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mamori-install-sh-'));
  mkdirSync(join(dir, 'bin'));
  // apt-get records its argv (one per line) and the settings it was given in the environment.
  stub('apt-get', `printf '%s\\n' "$@" > "${dir}/apt-args"; env | grep -E '^(MAMORI_|DEBIAN_FRONTEND)' | sort > "${dir}/apt-env"`);
  stub('dpkg-query', 'echo 0.1.0');
  stub('id', 'echo 0');
  writeFileSync(join(dir, 'mamori-agent_0.1.0_amd64.deb'), 'not a real package');
  writeFileSync(join(dir, 'mamori-agent_0.2.0_amd64.deb'), 'not a real package');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function install(args: string[]) {
  return run('sh', [SCRIPT, ...args], { cwd: dir, env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, HOME: dir } });
}

describe('install.sh', () => {
  it('installs the given package non-interactively with the settings in the environment', async () => {
    const r = await install(['--collector', 'wss://c.example.lg.jp:8470/agent', '--token', 'mmr1.a.b', '--ca-pin', 'AB:CD', '--segment', 'lgwan', '--package', 'mamori-agent_0.1.0_amd64.deb']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'apt-args'), 'utf8').trim().split('\n')).toEqual(['install', '-y', '-q', '-o', 'Dpkg::Options::=--force-confold', join(dir, 'mamori-agent_0.1.0_amd64.deb')]);
    expect(readFileSync(join(dir, 'apt-env'), 'utf8').trim().split('\n')).toEqual(['DEBIAN_FRONTEND=noninteractive', 'MAMORI_CA_PIN=AB:CD', 'MAMORI_COLLECTOR=wss://c.example.lg.jp:8470/agent', 'MAMORI_SEGMENT=lgwan', 'MAMORI_TOKEN=mmr1.a.b', 'MAMORI_TOKEN_FILE=']);
  });

  it('picks the newest package next to the script when none is given', async () => {
    const copy = join(dir, 'install.sh');
    writeFileSync(copy, readFileSync(SCRIPT));
    const r = await run('sh', [copy, '--collector', 'wss://c/agent', '--ca-pin', 'AB:CD', '--token', 't'], { cwd: tmpdir(), env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, HOME: dir } });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'apt-args'), 'utf8').trim().split('\n').pop()).toBe(join(dir, 'mamori-agent_0.2.0_amd64.deb'));
  });

  it('refuses unknown options and a first install without --collector, --ca-pin or a token, without calling apt-get', async () => {
    const cases: [string[], string][] = [
      [['--colector', 'x'], 'unknown option'],
      [['--token', 't', '--ca-pin', 'AB:CD'], '--collector is required'],
      [['--collector'], 'usage:'],
      [['--collector', 'wss://c/agent', '--token', 't'], '--ca-pin is required'],
      [['--collector', 'wss://c/agent', '--ca-pin', 'AB:CD'], '--token-file (or --token) is required'],
    ];
    for (const [args, message] of cases) {
      const r = await install(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('usage:');
      expect(r.stderr).toContain(message);
    }
    expect(() => readFileSync(join(dir, 'apt-args'))).toThrow();
  });

  it('hands a token file to the package by its path, never the token itself', async () => {
    writeFileSync(join(dir, 'token'), 'mmr1.a.secret\n', { mode: 0o600 });
    const r = await install(['--collector', 'wss://c/agent', '--ca-pin', 'AB:CD', '--token-file', 'token', '--package', 'mamori-agent_0.1.0_amd64.deb']);
    expect(r.code, r.stderr).toBe(0);
    const env = readFileSync(join(dir, 'apt-env'), 'utf8');
    expect(env).toContain(`MAMORI_TOKEN_FILE=${join(dir, 'token')}\n`);
    expect(env).toContain('MAMORI_TOKEN=\n');
    expect(readFileSync(join(dir, 'apt-args'), 'utf8')).not.toContain('secret');
  });
});
