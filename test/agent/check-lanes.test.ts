import { describe, expect, it } from 'vitest';
import { CheckLanes } from '../../agent/check-lanes.js';
import type { CheckId } from '../../src/shared/protocol/messages.js';

/** A lane whose runs are counted and finish when told to. */
function countedLanes() {
  const runs: { id: CheckId; finish: (v: string) => void }[] = [];
  const lanes = new CheckLanes<string>((id) => new Promise<string>((finish) => runs.push({ id, finish })));
  return { lanes, runs };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('CheckLanes', () => {
  it('gives a full run the result of a run that started after it was asked for, without running the check again', async () => {
    const { lanes, runs } = countedLanes();
    // A full run asked for now; meanwhile a USB event runs usb-media at once.
    const since = lanes.mark();
    let release!: () => void;
    const fullRun = lanes.track(
      (async () => {
        await new Promise<void>((r) => (release = r));
        return lanes.result('usb-media', since);
      })(),
    );
    const usb = lanes.track(lanes.result('usb-media', lanes.mark()));
    runs[0]!.finish('usb result');
    await usb;
    release();
    expect(await fullRun).toBe('usb result');
    expect(runs).toHaveLength(1);
  });

  it('keeps no result once nothing runs or waits: a later request runs the check', async () => {
    const { lanes, runs } = countedLanes();
    const since = lanes.mark();
    const first = lanes.track(lanes.result('software', since));
    runs[0]!.finish('software list');
    expect(await first).toBe('software list');
    await lanes.idle();
    await tick();
    // Asked with the old mark (which the kept result would satisfy): a new run, so nothing was kept.
    const again = lanes.track(lanes.result('software', since));
    expect(runs).toHaveLength(2);
    runs[1]!.finish('software list 2');
    expect(await again).toBe('software list 2');
  });

  it('keeps the result while a full run that may claim it is still going', async () => {
    const { lanes, runs } = countedLanes();
    const since = lanes.mark();
    let release!: () => void;
    const fullRun = lanes.track(
      (async () => {
        const a = await lanes.result('software', since);
        await new Promise<void>((r) => (release = r));
        return [a, await lanes.result('software', since)];
      })(),
    );
    await tick();
    runs[0]!.finish('software list');
    await tick();
    await tick();
    release();
    expect(await fullRun).toEqual(['software list', 'software list']);
    expect(runs).toHaveLength(1);
  });
});
