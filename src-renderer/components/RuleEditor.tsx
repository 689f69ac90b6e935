import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import type { PrefetchRule } from '../../src-main/api/types.js';
import { useApi } from '../app/api-context.js';
import { useAction } from '../lib/use-async.js';
import { formFromRule, newRuleForm, ruleFromForm, type RuleForm, type RuleFormErrors } from '../lib/rule-form.js';
import { ActionError, ByteSizeInput } from './ui.js';

interface Props {
  /** The rule being edited; undefined for a new one. */
  rule?: PrefetchRule;
  registries: string[];
  defaultRegistry: string;
  repository?: string;
  onSaved(rule: PrefetchRule): void;
  onCancel(): void;
}

/** Creates or edits a prefetch rule: which tags, for which platforms, when, how fast. */
export function RuleEditor({ rule, registries, defaultRegistry, repository, onSaved, onCancel }: Props) {
  const api = useApi();
  const [form, setForm] = useState<RuleForm>(() => (rule ? formFromRule(rule) : newRuleForm(defaultRegistry, repository ?? '')));
  const [errors, setErrors] = useState<RuleFormErrors>({});
  const save = useAction((next: PrefetchRule) => api.saveRule(next));
  const id = useId();
  const firstField = useRef<HTMLInputElement>(null);
  useEffect(() => firstField.current?.focus(), []);

  const set = <K extends keyof RuleForm>(key: K, value: RuleForm[K]): void => setForm((f) => ({ ...f, [key]: value }));
  const onSubmit = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    const result = ruleFromForm(form);
    if (result.errors) {
      setErrors(result.errors);
      return;
    }
    setErrors({});
    const saved = await save.run(result.rule);
    if (saved) onSaved(saved);
  };
  const fieldError = (key: keyof RuleForm): ReactNode =>
    errors[key] ? (
      <p className="field-error" id={`${id}-${key}-error`} role="alert">
        {errors[key]}
      </p>
    ) : null;
  const described = (key: keyof RuleForm): { 'aria-invalid'?: true; 'aria-describedby'?: string } =>
    errors[key] ? { 'aria-invalid': true, 'aria-describedby': `${id}-${key}-error` } : {};
  const registryOptions = registries.includes(form.registry) ? registries : [form.registry, ...registries];

  return (
    <form className="rule-editor" onSubmit={(e) => void onSubmit(e)} aria-label={rule ? 'Edit rule' : 'New rule'} data-testid="rule-editor" noValidate>
      <h3>{rule ? `Edit rule for ${rule.repository}` : 'New prefetch rule'}</h3>
      <div className="form-grid">
        <div className="field">
          <label htmlFor={`${id}-registry`}>Registry</label>
          <select id={`${id}-registry`} value={form.registry} onChange={(e) => set('registry', e.target.value)} {...described('registry')}>
            {registryOptions.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
          {fieldError('registry')}
        </div>
        <div className="field">
          <label htmlFor={`${id}-repository`}>Repository</label>
          <input
            ref={firstField}
            id={`${id}-repository`}
            value={form.repository}
            placeholder="platform/build-agent or platform/*"
            onChange={(e) => set('repository', e.target.value)}
            {...described('repository')}
          />
          {fieldError('repository')}
        </div>
      </div>

      <fieldset className="choice-group">
        <legend>Tags</legend>
        <div className="choices">
          <Choice name={`${id}-selector`} value="newest" current={form.selectorKind} onChange={(v) => set('selectorKind', v)} label="Newest" />
          <Choice name={`${id}-selector`} value="semver" current={form.selectorKind} onChange={(v) => set('selectorKind', v)} label="Semver range" />
          <Choice name={`${id}-selector`} value="glob" current={form.selectorKind} onChange={(v) => set('selectorKind', v)} label="Pattern" />
          <Choice name={`${id}-selector`} value="exact" current={form.selectorKind} onChange={(v) => set('selectorKind', v)} label="Exact tags" />
        </div>
        {form.selectorKind === 'newest' ? (
          <div className="field field-narrow">
            <label htmlFor={`${id}-newest`}>How many of the newest tags</label>
            <input id={`${id}-newest`} type="number" min={1} step={1} value={form.newestCount} onChange={(e) => set('newestCount', e.target.value)} {...described('newestCount')} />
            {fieldError('newestCount')}
          </div>
        ) : null}
        {form.selectorKind === 'semver' ? (
          <div className="field">
            <label htmlFor={`${id}-semver`}>Semver range</label>
            <input id={`${id}-semver`} value={form.semverRange} placeholder=">=3.4.0" onChange={(e) => set('semverRange', e.target.value)} {...described('semverRange')} />
            {fieldError('semverRange')}
          </div>
        ) : null}
        {form.selectorKind === 'glob' ? (
          <div className="field">
            <label htmlFor={`${id}-glob`}>Tag pattern</label>
            <input id={`${id}-glob`} value={form.globPattern} placeholder="release-*" onChange={(e) => set('globPattern', e.target.value)} {...described('globPattern')} />
            {fieldError('globPattern')}
          </div>
        ) : null}
        {form.selectorKind === 'exact' ? (
          <div className="field">
            <label htmlFor={`${id}-exact`}>Tags, separated by commas</label>
            <input id={`${id}-exact`} value={form.exactTags} placeholder="3.4.1, latest" onChange={(e) => set('exactTags', e.target.value)} {...described('exactTags')} />
            {fieldError('exactTags')}
          </div>
        ) : null}
      </fieldset>

      <fieldset className="choice-group">
        <legend>Platforms</legend>
        <div className="choices">
          <Choice name={`${id}-platforms`} value="host" current={form.platformsKind} onChange={(v) => set('platformsKind', v)} label="This machine's" />
          <Choice name={`${id}-platforms`} value="all" current={form.platformsKind} onChange={(v) => set('platformsKind', v)} label="All" />
          <Choice name={`${id}-platforms`} value="list" current={form.platformsKind} onChange={(v) => set('platformsKind', v)} label="These" />
        </div>
        {form.platformsKind === 'list' ? (
          <div className="field">
            <label htmlFor={`${id}-platform-list`}>Platforms, os/architecture[/variant]</label>
            <input id={`${id}-platform-list`} value={form.platformList} placeholder="linux/amd64, linux/arm64/v8" onChange={(e) => set('platformList', e.target.value)} {...described('platformList')} />
            {fieldError('platformList')}
          </div>
        ) : null}
      </fieldset>

      <fieldset className="choice-group">
        <legend>Schedule</legend>
        <div className="choices">
          <Choice name={`${id}-schedule`} value="window" current={form.scheduleKind} onChange={(v) => set('scheduleKind', v)} label="Nightly window" />
          <Choice name={`${id}-schedule`} value="interval" current={form.scheduleKind} onChange={(v) => set('scheduleKind', v)} label="Every few hours" />
          <Choice name={`${id}-schedule`} value="now" current={form.scheduleKind} onChange={(v) => set('scheduleKind', v)} label="Once, now" />
        </div>
        {form.scheduleKind === 'window' ? (
          <div className="form-grid form-grid-narrow">
            <div className="field">
              <label htmlFor={`${id}-start`}>From</label>
              <input id={`${id}-start`} type="time" value={form.windowStart} onChange={(e) => set('windowStart', e.target.value)} {...described('windowStart')} />
              {fieldError('windowStart')}
            </div>
            <div className="field">
              <label htmlFor={`${id}-end`}>Until</label>
              <input id={`${id}-end`} type="time" value={form.windowEnd} onChange={(e) => set('windowEnd', e.target.value)} {...described('windowEnd')} />
              {fieldError('windowEnd')}
            </div>
          </div>
        ) : null}
        {form.scheduleKind === 'interval' ? (
          <div className="field field-narrow">
            <label htmlFor={`${id}-hours`}>Hours between runs</label>
            <input id={`${id}-hours`} type="number" min={0.25} step="any" value={form.intervalHours} onChange={(e) => set('intervalHours', e.target.value)} {...described('intervalHours')} />
            {fieldError('intervalHours')}
          </div>
        ) : null}
      </fieldset>

      <div className="form-grid">
        <ByteSizeInput
          label="Bandwidth cap"
          value={form.bandwidthLimit}
          onChange={(bytes) => set('bandwidthLimit', bytes)}
          units={['KiB', 'MiB']}
          optional
          perSecond
          hint="Empty: share the registry's budget. Pulls always come first."
        />
        <div className="field field-check">
          <input id={`${id}-enabled`} type="checkbox" checked={form.enabled} onChange={(e) => set('enabled', e.target.checked)} />
          <label htmlFor={`${id}-enabled`}>Enabled</label>
        </div>
        <div className="field field-check">
          <input id={`${id}-referrers`} type="checkbox" checked={form.referrers} onChange={(e) => set('referrers', e.target.checked)} />
          <label htmlFor={`${id}-referrers`}>Signatures, attestations and SBOMs too</label>
        </div>
      </div>
      {fieldError('bandwidthLimit')}

      <ActionError error={save.error} />
      <div className="form-actions">
        <button type="submit" className="button button-primary" disabled={save.busy}>
          {save.busy ? 'Saving…' : 'Save rule'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Choice<V extends string>({ name, value, current, onChange, label }: { name: string; value: V; current: string; onChange: (v: V) => void; label: string }) {
  const id = useId();
  return (
    <span className="choice">
      <input type="radio" id={id} name={name} value={value} checked={current === value} onChange={() => onChange(value)} />
      <label htmlFor={id}>{label}</label>
    </span>
  );
}
