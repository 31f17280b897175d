/**
 * The Windows device watcher's line parser and restart logic. PowerShell is replaced by a
 * small Node child process that is a TEST DOUBLE OF powershell.exe's I/O BEHAVIOUR ONLY: it
 * prints the JSON lines the watch script prints on Windows (shape: Win32_VolumeChangeEvent
 * EventType/DriveName, Win32_DiskDrive PNPDeviceID) and then exits or waits.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { DEVICE_WATCH_SCRIPT, HEARTBEAT_SECONDS, WindowsDeviceWatcher, parseDeviceEventLine } from '../../../agent/watchers/windows-devices.js';
import { windowsWatchers } from '../../../agent/watchers/windows.js';
import type { PowerShellProcess } from '../../../agent/probes/powershell-host.js';

describe('device event lines', () => {
  it('volume arrival and removal trigger; configuration change does not', () => {
    expect(parseDeviceEventLine('{"kind":"mamori.volume","at":"2026-12-01T01:00:00.0000000Z","eventType":2,"drive":"E:"}')).toEqual({ reason: 'volume E: arrived' });
    expect(parseDeviceEventLine('{"kind":"mamori.volume","at":"2026-12-01T01:00:00.0000000Z","eventType":3,"drive":"E:"}')).toEqual({ reason: 'volume E: removed' });
    expect(parseDeviceEventLine('{"kind":"mamori.volume","at":"2026-12-01T01:00:00.0000000Z","eventType":1,"drive":"E:"}')).toBeNull();
  });
  it('disk creation with the PS 5.1 escaped instance id', () => {
    expect(parseDeviceEventLine('{"kind":"mamori.disk-added","at":"2026-12-01T01:00:00Z","pnpDeviceId":"USBSTOR\\\\DISK\\u0026VEN_SANDISK\\\\4C53\\u00260","interfaceType":"USB"}')).toEqual({ reason: 'disk added: USBSTOR\\DISK&VEN_SANDISK\\4C53&0' });
  });
  it('noise, partial lines and unknown kinds are ignored', () => {
    expect(parseDeviceEventLine('WARNING: something')).toBeUndefined();
    expect(parseDeviceEventLine('{"kind":"mamori.volume","at":"x","event')).toBeUndefined();
    expect(parseDeviceEventLine('{"kind":"other"}')).toBeUndefined();
    expect(parseDeviceEventLine('{"kind":"ready"}')).toBeNull();
  });
  it('the watch script registers the documented events and never uses localised text', () => {
    expect(DEVICE_WATCH_SCRIPT).toContain('Win32_VolumeChangeEvent');
    expect(DEVICE_WATCH_SCRIPT).toContain("__InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_DiskDrive'");
    expect(DEVICE_WATCH_SCRIPT).toMatch(/\n\n$/);
    expect(DEVICE_WATCH_SCRIPT.trimEnd()).not.toMatch(/\n\s*\n/);
  });
});

const spawned: PowerShellProcess[] = [];
afterEach(() => {
  for (const p of spawned.splice(0)) p.kill();
});
/** Double: prints the given lines, then exits (exitAfter) or stays alive. */
function double(lines: string[], exitAfter: boolean) {
  return (): PowerShellProcess => {
    const code = `for (const l of ${JSON.stringify(lines)}) process.stdout.write(l + '\\r\\n'); ${exitAfter ? 'setTimeout(() => process.exit(1), 20);' : 'setInterval(() => {}, 1000); process.stdin.resume();'}`;
    const p = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });
    spawned.push(p);
    return p;
  };
}

describe('WindowsDeviceWatcher', () => {
  it('triggers usb-media once per device event', async () => {
    const w = new WindowsDeviceWatcher({ spawn: double(['{"kind":"ready"}', 'noise', '{"kind":"mamori.volume","at":"2026-12-01T01:00:00Z","eventType":2,"drive":"F:"}', '{"kind":"mamori.disk-removed","at":"2026-12-01T01:00:00Z","pnpDeviceId":"USBSTOR\\\\X"}'], false) });
    const seen: string[] = [];
    await w.start((id, reason) => seen.push(`${id}: ${reason}`));
    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(2);
    expect(seen).toEqual(['usb-media: volume F: arrived', 'usb-media: disk removed: USBSTOR\\X']);
    await w.stop();
  });

  it('restarts PowerShell with backoff when it exits, and stops for good on stop()', async () => {
    const w = new WindowsDeviceWatcher({ spawn: double(['{"kind":"mamori.volume","at":"2026-12-01T01:00:00Z","eventType":2,"drive":"G:"}'], true), backoffMs: 10, maxBackoffMs: 40 });
    const seen: string[] = [];
    await w.start((_id, reason) => seen.push(reason));
    await expect.poll(() => w.spawnCount, { timeout: 5000 }).toBeGreaterThanOrEqual(3);
    await w.stop();
    const count = w.spawnCount;
    await new Promise((r) => setTimeout(r, 150));
    expect(w.spawnCount).toBe(count);
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });

  it('a watch script that failed but keeps PowerShell waiting (no ready line) is killed and restarted', async () => {
    const w = new WindowsDeviceWatcher({ spawn: double([], false), readyTimeoutMs: 100, backoffMs: 10, maxBackoffMs: 20 });
    const health: string[] = [];
    await w.start(() => undefined, (h) => health.push(`${h.state}: ${h.reason}`));
    await expect.poll(() => health.length, { timeout: 10_000 }).toBe(1);
    expect(health[0]).toBe('down: not ready within 100 ms');
    expect(w.spawnCount).toBeGreaterThanOrEqual(3);
    await w.stop();
  });

  it('an error line from the script is a failure: the process is replaced at once', async () => {
    const w = new WindowsDeviceWatcher({ spawn: double(['{"kind":"error","message":"アクセスが拒否されました。"}'], false), backoffMs: 10, maxBackoffMs: 20, downAfterFailures: 2 });
    const health: string[] = [];
    await w.start(() => undefined, (h) => health.push(`${h.state}: ${h.reason}`));
    await expect.poll(() => health, { timeout: 10_000 }).toEqual(['down: watch script failed: アクセスが拒否されました。']);
    await w.stop();
  });

  it('a ready watcher that falls silent (no heartbeat) is restarted; ready again reports it up', async () => {
    let first = true;
    const spawnOnce = (): PowerShellProcess => {
      if (first) {
        first = false;
        return double(['{"kind":"ready"}'], false)(); // ready, then silent for ever
      }
      const p = spawn(process.execPath, ['-e', `process.stdout.write('{"kind":"ready"}\\r\\n'); setInterval(() => process.stdout.write('{"kind":"heartbeat"}\\r\\n'), 20); process.stdin.resume();`], { stdio: ['pipe', 'pipe', 'pipe'] });
      spawned.push(p);
      return p;
    };
    const w = new WindowsDeviceWatcher({ spawn: spawnOnce, silenceTimeoutMs: 1_000, backoffMs: 10, downAfterFailures: 1 });
    const health: string[] = [];
    await w.start(() => undefined, (h) => health.push(`${h.state}: ${h.reason}`));
    await expect.poll(() => health, { timeout: 10_000 }).toEqual(['down: silent for 1000 ms (no heartbeat)', 'up: ready again']);
    await w.stop();
  });

  it('the watch script reports its own failure and exits, and says it is alive between events', () => {
    expect(DEVICE_WATCH_SCRIPT).toMatch(/try \{[\s\S]*Register-CimIndicationEvent[\s\S]*\} catch \{[\s\S]*kind = 'error'[\s\S]*\[Environment\]::Exit\(1\)/);
    expect(DEVICE_WATCH_SCRIPT).toContain(`Wait-Event -Timeout ${HEARTBEAT_SECONDS}`);
    expect(DEVICE_WATCH_SCRIPT).toContain(`WriteLine('{"kind":"heartbeat"}')`);
  });

  it('windowsWatchers gives the device watcher', () => {
    expect(windowsWatchers().map((w) => w.name)).toEqual(['windows-devices']);
  });
});
