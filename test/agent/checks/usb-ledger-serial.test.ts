/**
 * The 媒体管理台帳 registers one medium, not a model: a second stick of a registered model
 * (same vendor and product id, another serial number) is unregistered. Asserted at every level
 * that judges media: the rule, a Linux recording and a Windows recording replayed through the
 * collectors (the end-to-end path is in test/e2e/usb-violation.test.ts).
 *
 * The second stick is derived from each recording by copying the recorded stick and changing
 * only its serial number (in sysfs `serial` on Linux, in the USB instance id and the disk's
 * SerialNumber on Windows), so everything else about the two devices is identical.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localCheck, productCatalogue } from '../../../agent/local-check.js';
import { evaluateRule } from '../../../src/shared/catalogue/evaluate.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/replay');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function copyRecording(platform: 'linux' | 'windows', name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-twin-'));
  dirs.push(dir);
  cpSync(join(FIXTURES, platform, name), dir, { recursive: true });
  return dir;
}

async function usb001(replayDir: string, registered: string[]) {
  const report = await localCheck({ replayDir, checks: ['usb-media'], policy: { lists: { registeredMedia: registered } } });
  const check = report.checks.find((c) => c.id === 'usb-media')!;
  const rule = check.rules.find((r) => r.ruleId === 'USB-001')!;
  return { devices: check.facts.devices as { fingerprint: string }[], rule };
}

describe('a second stick of a registered model with another serial number is unregistered', () => {
  it('rule USB-001: only the registered serial passes', () => {
    const rule = productCatalogue().rules.find((r) => r.id === 'USB-001')!;
    const devices = [{ fingerprint: '0951:1666:E0D55EA573DCF450E97C0F9A' }, { fingerprint: '0951:1666:0000AAAA1111BBBB2222CCCC' }];
    const r = evaluateRule(rule, { status: 'ok', facts: { devices }, unknownFacts: {} }, { platform: 'linux', segment: 'lgwan', policy: { params: {}, lists: { registeredMedia: ['0951:1666:E0D55EA573DCF450E97C0F9A'] }, disabledRules: [] }, now: new Date() });
    expect(r.result).toBe('fail');
    expect(r.subjects.map((s) => [s.subject, s.result])).toEqual([
      ['0951:1666:E0D55EA573DCF450E97C0F9A', 'pass'],
      ['0951:1666:0000AAAA1111BBBB2222CCCC', 'fail'],
    ]);
  });

  it('Linux recording (Ubuntu 24.04, sysfs): the twin on another port fails, the registered stick passes', async () => {
    const dir = copyRecording('linux', 'ubuntu2404-gnome-clamav');
    // Port 3-2 holds the recorded Kingston stick; 3-3 gets the same files with another serial.
    for (const f of readdirSync(dir).filter((n) => n.startsWith('usb.3-2'))) cpSync(join(dir, f), join(dir, f.replace('usb.3-2', 'usb.3-3')));
    writeFileSync(join(dir, 'usb.3-3.serial.out'), '0000AAAA1111BBBB2222CCCC\n');
    const list = JSON.parse(readFileSync(join(dir, 'usb.devices.out'), 'utf8')) as string[];
    writeFileSync(join(dir, 'usb.devices.out'), JSON.stringify([...list, '3-3', '3-3:1.0']));

    const { devices, rule } = await usb001(dir, ['0951:1666:E0D55EA573DCF450E97C0F9A']);
    expect(devices.map((d) => d.fingerprint).sort()).toEqual(['0951:1666:0000AAAA1111BBBB2222CCCC', '0951:1666:E0D55EA573DCF450E97C0F9A']);
    expect(rule.result).toBe('fail');
    expect(rule.subjects.filter((s) => s.result === 'fail').map((s) => s.subject)).toEqual(['0951:1666:0000AAAA1111BBBB2222CCCC']);
    // Registering the twin too clears the rule: the match is by serial, not by chance.
    expect((await usb001(dir, ['0951:1666:E0D55EA573DCF450E97C0F9A', '0951:1666:0000AAAA1111BBBB2222CCCC'])).rule.result).toBe('pass');
  });

  it('Windows recording (Japanese Windows 10, PnP/CIM): the twin fails, the registered stick passes', async () => {
    const dir = copyRecording('windows', 'w10-22h2-pro-ja-eset');
    const file = join(dir, 'win.usb-media.out');
    const out = JSON.parse(readFileSync(file, 'utf8')) as { disks: Record<string, unknown>[] };
    const original = out.disks[0]!;
    const twinSerial = '4C530001090622119999';
    const replaceSerial = (v: unknown): unknown => (typeof v === 'string' ? v.replaceAll('4C530001090622117433', twinSerial) : Array.isArray(v) ? v.map(replaceSerial) : v);
    const twin = Object.fromEntries(Object.entries(original).map(([k, v]) => [k, replaceSerial(v)]));
    twin.index = 2;
    twin.volumes = [{ accessPaths: ['F:\\'], label: '私物', fileSystem: 'FAT32' }];
    out.disks.push(twin);
    writeFileSync(file, JSON.stringify(out));

    const registered = '0781:5581:4C530001090622117433';
    const { devices, rule } = await usb001(dir, [registered]);
    expect(devices.map((d) => d.fingerprint).sort()).toEqual([registered, `0781:5581:${twinSerial}`]);
    expect(rule.result).toBe('fail');
    expect(rule.subjects.filter((s) => s.result === 'fail').map((s) => s.subject)).toEqual([`0781:5581:${twinSerial}`]);
  });
});
