import { describe, expect, it } from 'vitest';
import type { PrefetchRule } from '../../src-main/api/types.js';
import { formFromRule, newRuleForm, ruleFromForm } from './rule-form.js';

const RULE: PrefetchRule = {
  id: 'rule-1', registry: 'docker.io', repository: 'library/app', tags: { kind: 'exact', tags: ['1.0'] },
  platforms: 'host', schedule: { kind: 'now' }, enabled: true,
};

describe('the rule form keeps the referrers option', () => {
  it('is on for a new rule and for a rule that does not say, and the saved rule then leaves it out (absent means on)', () => {
    expect(newRuleForm('docker.io').referrers).toBe(true);
    const form = formFromRule(RULE);
    expect(form.referrers).toBe(true);
    expect(ruleFromForm(form).rule).toEqual(RULE);
  });

  it('a rule with referrers: false keeps it through an edit, and unticking it saves false', () => {
    const off = formFromRule({ ...RULE, referrers: false });
    expect(off.referrers).toBe(false);
    expect(ruleFromForm(off).rule?.referrers).toBe(false);
    expect(ruleFromForm({ ...formFromRule(RULE), referrers: false }).rule?.referrers).toBe(false);
  });
});
