/**
 * What the language walks of the console share (japanese-throughout, english-throughout): the data
 * they put in through the API, the screens they visit and how a screen's visible text is read.
 */
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import type { City } from '../../bench/lib/city.js';
import type { Client } from '../console/helpers.js';

/** Data of the other screens, through the API as the console would make it: a medium, an account, an exception, audit entries, two violations acknowledged. */
export async function seedWalkData(api: Client, city: City): Promise<void> {
  const pc = city.pcs[0]!;
  expect((await api.request('POST', '/api/v1/media', { stickerNo: 'M-001', fingerprint: '0781:5567:WALK01', owner: '総務課 佐藤', department: '総務課', label: '暗号化USBメモリ', encryption: 'hardware' })).status).toBe(200);
  expect((await api.request('POST', '/api/v1/users', { username: 'tanaka', role: 'helpdesk', departments: ['税務課'] })).status).toBe(200);
  const ex = await api.request('POST', '/api/v1/exceptions', { agentId: pc.id, ruleId: 'LOCK-001', reason: '窓口端末のため', until: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10) });
  expect([200, 201]).toContain(ex.status);
  // Actions whose audit entries the 操作記録 screen then names.
  expect((await api.request('GET', '/api/v1/pcs.csv')).status).toBe(200);
  expect((await api.request('GET', '/api/v1/inventory.csv')).status).toBe(200);
  const open = (await api.request('GET', '/api/v1/violations?limit=2')).json.violations as { agentId: string; ruleId: string; subject: string }[];
  expect((await api.request('POST', '/api/v1/violations/ack-bulk', { keys: open.map((v) => ({ agentId: v.agentId, ruleId: v.ruleId, subject: v.subject })) })).status).toBe(200);
}

/** The console's main screens as [hash, selector that shows the screen has its data]; `extra` screens go after the first PC's page. */
export function walkedScreens(city: City, extra: [string, string][] = []): [string, string][] {
  return [
    ['overview', '.content h1'],
    ['live', '[data-testid=live-table] tr.vrow'],
    ['pcs', '[data-testid=pcs-table] tr.pcrow'],
    [`pc/${city.pcs[0]!.id}`, '.content h1'],
    ...extra,
    ['inventory', '.content h1'],
    ['scan', '[data-testid=scan-table] tr.pcrow'],
    ['policy', '.content table tbody tr'],
    ['media', '.content table tbody tr'],
    ['exceptions', '.content table tbody tr'],
    ['reports', '.content table tbody tr'],
    ['audit', '.content table tbody tr'],
    ['users', '.content table tbody tr'],
    ['forwarders', '.content h1'],
    ['enrollment', '.content h1'],
    ['updates', '.content h1'],
    ['enroll', '.content h1'],
  ];
}

/** The visible text of a screen (without what it shows as code: raw facts, action codes, addresses) once it has settled. */
export async function visibleText(page: Page, consoleUrl: string, hash: string, ready: string): Promise<string> {
  // A full load each time: a hash change alone could leave the last screen's rows in place.
  await page.goto('about:blank');
  await page.goto(`${consoleUrl}#/${hash}`);
  await page.waitForSelector(ready);
  await page.waitForLoadState('networkidle');
  return page.evaluate(() => {
    // Hidden through the CSSOM: the console's content security policy refuses a <style> element.
    const code = [...document.querySelectorAll<HTMLElement>('pre, code, .mono')];
    for (const el of code) el.style.display = 'none';
    const text = document.body.innerText;
    for (const el of code) el.style.display = '';
    return text;
  });
}
