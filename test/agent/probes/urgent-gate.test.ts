/**
 * The points where a check that holds the main thread lets a USB check go first: the I/O
 * callbacks already waiting run there (a udev line about a stick), and the check goes on only
 * when no urgent check runs. Judging steps aside before every rule, with the same verdicts.
 */
import { describe, expect, it } from 'vitest';
import { judge } from '../../../agent/judge.js';
import type { AnyOutput } from '../../../agent/judge.js';
import { productCatalogue } from '../../../agent/local-check.js';
import { UrgentGate } from '../../../agent/probes/urgent-gate.js';
import { PolicyDocument } from '../../../src/shared/protocol/messages.js';

describe('UrgentGate.stepAside', () => {
  it('lets the callbacks already waiting in the event loop run before the step goes on (a promise alone would not)', async () => {
    const gate = new UrgentGate();
    const order: string[] = [];
    // Queued before the step as a udev line would be: a callback the event loop runs at its next turn.
    setImmediate(() => order.push('udev line'));
    await Promise.resolve();
    order.push('after a promise');
    await gate.stepAside();
    order.push('after stepping aside');
    expect(order).toEqual(['after a promise', 'udev line', 'after stepping aside']);
  });

  it('waits while urgent work runs, and goes on when it is done', async () => {
    const gate = new UrgentGate();
    let finishUrgent!: () => void;
    const urgent = gate.hold(() => new Promise<void>((r) => (finishUrgent = r)));
    let stepped = false;
    const step = gate.stepAside().then(() => (stepped = true));
    // Several turns of the event loop: still waiting.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(stepped).toBe(false);
    finishUrgent();
    await urgent;
    await step;
    expect(stepped).toBe(true);
    // Nothing urgent: straight on.
    await gate.stepAside();
  });
});

describe('judge with a step-aside point', () => {
  it('steps aside before each rule and gives the same verdicts as straight through', async () => {
    const rules = productCatalogue().rules.filter((r) => r.check === 'usb-media');
    const output: AnyOutput = { status: 'ok', facts: { devices: [{ vendorId: '0951', productId: '1666', serial: 'X1', storage: true, registered: false }] }, unknownFacts: {} } as unknown as AnyOutput;
    const ctx = { platform: 'linux' as const, segment: 'lgwan' as const, policy: PolicyDocument.parse({ version: 1 }), now: new Date('2026-12-07T00:00:00Z') };
    const seen: number[] = [];
    let judged = 0;
    const stepped = await judge(rules, output, ctx, async () => {
      seen.push(judged);
      judged++;
    });
    expect(rules.length).toBeGreaterThan(1);
    expect(seen).toEqual(rules.map((_, i) => i));
    expect(stepped).toEqual(await judge(rules, output, ctx));
  });
});
