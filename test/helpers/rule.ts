/** A minimal valid catalogue rule for tests that judge or report one; `over` replaces fields. */
import { Rule } from '../../src/shared/catalogue/schema.js';

export function testRule(over: Record<string, unknown> = {}): Rule {
  return Rule.parse({
    id: 'TST-001',
    requirement: 'R-TST-1',
    check: 'beyond',
    name: { ja: '試験', en: 'test' },
    message: { ja: '試験', en: 'test' },
    platforms: ['linux', 'windows'],
    obligation: 'MUST',
    severity: 'low',
    expect: [{ fact: 'a', op: 'eq', value: true }],
    clauses: [{ source: '000', ref: '§7(5)①ア' }],
    rationale: { ja: 'r', en: 'r' },
    remediation: { ja: 'r', en: 'r' },
    fixtures: { pass: ['x'], fail: ['y'] },
    ...over,
  });
}
