/**
 * A PC's page through the API: its installed software comes from the software check's
 * inventory (`packages`, agent/checks/software/facts.ts) as the agent reported it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewAgentEvent } from '../../src/shared/protocol/messages.js';
import { adminClient, seedAgent, seedEvents, startTestCollector } from './helpers.js';
import type { Client, TestCollector } from './helpers.js';

let t: TestCollector;
let admin: Client;

beforeAll(async () => {
  t = await startTestCollector();
  admin = await adminClient(t);
});
afterAll(async () => {
  await t?.close();
});

describe('PC page', () => {
  it('lists the installed software the agent reported, and 不明 only before any inventory', async () => {
    const id = await seedAgent(t, 'ZEIMU-PC01');
    expect((await admin.request('GET', `/api/v1/pcs/${id}`)).json.software).toBeNull();
    const packages = [
      { name: 'LibreOffice', version: '7.6.4' },
      { name: '一太郎2024', version: null },
    ];
    await seedEvents(t, id, 'ZEIMU-PC01', [{ kind: 'facts', at: new Date().toISOString(), checkId: 'software', status: 'ok', facts: { packages, processes: [], endOfSupport: [], catalogueDate: '2026-11-01' } } as NewAgentEvent]);
    expect((await admin.request('GET', `/api/v1/pcs/${id}`)).json.software).toEqual(packages);
  });
});
