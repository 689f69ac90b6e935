/**
 * The prefetch rule editor's form state and its exact translation to and from
 * a PrefetchRule. Pure, so the translation is tested without rendering.
 */
import type { Platform, PrefetchRule, Schedule, TagSelector } from '../../src-main/api/types.js';
import { formatPlatform, parsePlatformList, selectorProblem } from '../../src-main/api/selectors.js';
import { timeOfDay } from '../../src-main/api/settings-schema.js';
import { formatRate } from './format.js';

// Selectors and platforms are described one way, the way prefetch describes them.
export { describePlatforms, describeSelector, formatPlatform } from '../../src-main/api/selectors.js';

export interface RuleForm {
  id: string;
  registry: string;
  repository: string;
  selectorKind: TagSelector['kind'];
  exactTags: string;
  globPattern: string;
  semverRange: string;
  newestCount: string;
  platformsKind: 'host' | 'all' | 'list';
  platformList: string;
  scheduleKind: Schedule['kind'];
  intervalHours: string;
  windowStart: string;
  windowEnd: string;
  /** Bytes per second; undefined: the registry's budget. */
  bandwidthLimit: number | undefined;
  enabled: boolean;
  /** Take each tag's signatures, attestations and SBOMs along (PrefetchRule.referrers, on unless unticked). */
  referrers: boolean;
}

export type RuleFormErrors = Partial<Record<keyof RuleForm, string>>;

/** An id for a new rule. crypto.getRandomValues works outside secure contexts too (LAN http). */
export function newRuleId(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return `rule-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export function newRuleForm(registry: string, repository = '', id = newRuleId()): RuleForm {
  return {
    id,
    registry,
    repository,
    selectorKind: 'newest',
    exactTags: '',
    globPattern: '',
    semverRange: '',
    newestCount: '3',
    platformsKind: 'host',
    platformList: '',
    scheduleKind: 'window',
    intervalHours: '6',
    windowStart: '19:00',
    windowEnd: '07:00',
    bandwidthLimit: undefined,
    enabled: true,
    referrers: true,
  };
}

export function formFromRule(rule: PrefetchRule): RuleForm {
  const form = newRuleForm(rule.registry, rule.repository, rule.id);
  form.selectorKind = rule.tags.kind;
  if (rule.tags.kind === 'exact') form.exactTags = rule.tags.tags.join(', ');
  if (rule.tags.kind === 'glob') form.globPattern = rule.tags.pattern;
  if (rule.tags.kind === 'semver') form.semverRange = rule.tags.range;
  if (rule.tags.kind === 'newest') form.newestCount = String(rule.tags.count);
  if (Array.isArray(rule.platforms)) {
    form.platformsKind = 'list';
    form.platformList = rule.platforms.map(formatPlatform).join(', ');
  } else form.platformsKind = rule.platforms;
  form.scheduleKind = rule.schedule.kind;
  if (rule.schedule.kind === 'interval') form.intervalHours = String(rule.schedule.hours);
  if (rule.schedule.kind === 'window') {
    form.windowStart = rule.schedule.start;
    form.windowEnd = rule.schedule.end;
  }
  form.bandwidthLimit = rule.bandwidthLimit;
  form.enabled = rule.enabled;
  form.referrers = rule.referrers !== false;
  return form;
}

/** "linux/amd64, linux/arm64/v8" → platforms, or the first entry that is not os/arch[/variant]. */
export function parsePlatforms(text: string): Platform[] | { error: string } {
  if (text.trim() === '') return { error: 'List at least one platform, e.g. linux/amd64.' };
  try {
    return parsePlatformList(text);
  } catch (error) {
    return { error: asSentence((error as Error).message) };
  }
}

/** A problem as the form shows it: a sentence. */
function asSentence(problem: string): string {
  return `${problem.charAt(0).toUpperCase()}${problem.slice(1)}.`;
}

/** The selector the form describes, checked the way prefetch checks it; the error goes under its field. */
function selectorFromForm(form: RuleForm): { tags: TagSelector; field: keyof RuleForm } {
  switch (form.selectorKind) {
    case 'exact':
      return { tags: { kind: 'exact', tags: [...new Set(form.exactTags.split(/[\s,]+/).filter(Boolean))] }, field: 'exactTags' };
    case 'glob':
      return { tags: { kind: 'glob', pattern: form.globPattern.trim() }, field: 'globPattern' };
    case 'semver':
      return { tags: { kind: 'semver', range: form.semverRange.trim() }, field: 'semverRange' };
    case 'newest':
      return { tags: { kind: 'newest', count: /^\s*\d+\s*$/.test(form.newestCount) ? Number(form.newestCount) : Number.NaN }, field: 'newestCount' };
  }
}

export function ruleFromForm(form: RuleForm): { rule: PrefetchRule; errors?: undefined } | { rule?: undefined; errors: RuleFormErrors } {
  const errors: RuleFormErrors = {};
  const repository = form.repository.trim();
  if (!form.registry) errors.registry = 'Pick a registry.';
  if (!repository) errors.repository = 'Name a repository, or a glob such as platform/*.';
  else if (/\s/.test(repository)) errors.repository = 'Repository names have no spaces.';

  const selector = selectorFromForm(form);
  const selectorError = selectorProblem(selector.tags);
  const tags: TagSelector | undefined = selectorError ? undefined : selector.tags;
  if (selectorError) errors[selector.field] = asSentence(selectorError);

  let platforms: PrefetchRule['platforms'] = form.platformsKind === 'list' ? [] : form.platformsKind;
  if (form.platformsKind === 'list') {
    const parsed = parsePlatforms(form.platformList);
    if ('error' in parsed) errors.platformList = parsed.error;
    else platforms = parsed;
  }

  let schedule: Schedule | undefined;
  switch (form.scheduleKind) {
    case 'now':
      schedule = { kind: 'now' };
      break;
    case 'interval': {
      const hours = Number(form.intervalHours);
      if (!Number.isFinite(hours) || hours <= 0) errors.intervalHours = 'Hours between runs, more than 0.';
      else schedule = { kind: 'interval', hours };
      break;
    }
    case 'window':
      // The settings schema's rule for a time of day, as the core checks the saved rule.
      if (!timeOfDay.safeParse(form.windowStart).success) errors.windowStart = 'A time such as 19:00.';
      if (!timeOfDay.safeParse(form.windowEnd).success) errors.windowEnd = 'A time such as 07:00.';
      if (!errors.windowStart && !errors.windowEnd && form.windowStart === form.windowEnd) errors.windowEnd = 'The window must not start and end at the same time.';
      if (!errors.windowStart && !errors.windowEnd) schedule = { kind: 'window', start: form.windowStart, end: form.windowEnd };
      break;
  }

  if (form.bandwidthLimit !== undefined && form.bandwidthLimit <= 0) errors.bandwidthLimit = 'Leave empty for no cap, or give a rate above 0.';

  if (Object.keys(errors).length > 0 || !tags || !schedule) return { errors };
  const rule: PrefetchRule = {
    id: form.id,
    registry: form.registry,
    repository,
    tags,
    platforms,
    schedule,
    enabled: form.enabled,
  };
  if (form.bandwidthLimit !== undefined) rule.bandwidthLimit = form.bandwidthLimit;
  if (!form.referrers) rule.referrers = false;
  return { rule };
}

export function describeSchedule(schedule: Schedule): string {
  switch (schedule.kind) {
    case 'now':
      return 'once, now';
    case 'interval':
      return schedule.hours === 1 ? 'every hour' : `every ${schedule.hours} h`;
    case 'window':
      return `nightly ${schedule.start}–${schedule.end}`;
  }
}

export function describeBandwidth(limit: number | undefined): string {
  return limit === undefined ? "registry's budget" : `max ${formatRate(limit)}`;
}
