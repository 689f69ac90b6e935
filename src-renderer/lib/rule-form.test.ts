import { describe, expect, it } from 'vitest';
import type { PrefetchRule } from '../../src-main/api/types.js';
import { formFromRule, newRuleForm, parsePlatforms, ruleFromForm } from './rule-form.js';

describe('rule form', () => {
  it('round-trips every kind of rule exactly', () => {
    const rules: PrefetchRule[] = [
      { id: 'a', registry: 'dtr.example.com', repository: 'platform/*', tags: { kind: 'semver', range: '>=3.4.0' }, platforms: 'host', schedule: { kind: 'window', start: '19:00', end: '07:00' }, bandwidthLimit: 2097152, enabled: true },
      { id: 'b', registry: 'docker.io', repository: 'library/postgres', tags: { kind: 'exact', tags: ['16', '16-alpine'] }, platforms: 'all', schedule: { kind: 'now' }, enabled: false },
      { id: 'c', registry: 'docker.io', repository: 'library/redis', tags: { kind: 'glob', pattern: '7.*' }, platforms: [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'amd64' }], schedule: { kind: 'interval', hours: 6 }, enabled: true },
      { id: 'd', registry: 'docker.io', repository: 'library/nginx', tags: { kind: 'newest', count: 2 }, platforms: 'host', schedule: { kind: 'interval', hours: 0.5 }, enabled: true },
    ];
    for (const rule of rules) expect(ruleFromForm(formFromRule(rule))).toEqual({ rule });
  });

  it('rejects what the core could not use, field by field', () => {
    const form = { ...newRuleForm('docker.io', '', 'x'), selectorKind: 'semver' as const, semverRange: 'three-ish', scheduleKind: 'window' as const, windowStart: '25:00', windowEnd: '07:00' };
    const result = ruleFromForm(form);
    expect(result.errors?.repository).toMatch(/repository/i);
    expect(result.errors?.semverRange).toMatch(/not a semver range/);
    expect(result.errors?.windowStart).toBeDefined();
    expect(result.rule).toBeUndefined();
  });

  it('dedupes exact tags and splits on commas and spaces', () => {
    const result = ruleFromForm({ ...newRuleForm('docker.io', 'library/nginx', 'x'), selectorKind: 'exact', exactTags: '1.27, 1.27 latest' });
    expect(result.rule?.tags).toEqual({ kind: 'exact', tags: ['1.27', 'latest'] });
  });

  it('parses platform lists', () => {
    expect(parsePlatforms('linux/amd64, linux/arm64/v8')).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    expect(parsePlatforms('amd64')).toEqual({ error: expect.stringContaining('"amd64"') });
  });
});
