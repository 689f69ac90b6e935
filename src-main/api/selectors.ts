/**
 * How tags and platforms are written and read, one way for everyone: the
 * command line, the dashboard's rule editor and prefetch's own messages.
 * Pure (semver is the only dependency), so the renderer uses it as is.
 */
import semver from 'semver';
import type { Platform, TagSelector } from './types.js';

/** Which images of a multi-platform index to fetch: this machine's, every one, or a list. */
export type PlatformChoice = 'host' | 'all' | Platform[];

/** A tag, per the OCI distribution spec's grammar. */
export const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** A problem with a selector, in words; undefined when it is fine. */
export function selectorProblem(selector: TagSelector): string | undefined {
  switch (selector.kind) {
    case 'exact': {
      const bad = selector.tags.find((tag) => !OCI_TAG.test(tag));
      if (selector.tags.length === 0) return 'name at least one tag';
      return bad === undefined ? undefined : `"${bad}" is not a valid tag`;
    }
    case 'glob':
      return selector.pattern.trim() ? undefined : 'the glob pattern is empty';
    case 'semver':
      if (!selector.range.trim()) return 'give a semver range (e.g. ^1.2, ~2.0.1, >=1.4 <2)';
      return semver.validRange(selector.range) ? undefined : `"${selector.range}" is not a semver range (e.g. ^1.2, ~2.0.1, >=1.4 <2)`;
    case 'newest':
      return Number.isInteger(selector.count) && selector.count > 0 ? undefined : 'newest needs a whole number of tags, at least 1';
  }
}

const GLOB_CHARACTERS = /[*?[\]{}!]/;

/**
 * Reads a selector as typed on the command line:
 *   1.2,latest      exact tags, separated by commas
 *   1.*  glob:1.*   a glob (bare when it has glob characters)
 *   semver:^1.2     a semver range
 *   newest:3        the newest N versions
 *   exact:1.2       exact, explicitly
 */
export function parseTagSelector(text: string): TagSelector {
  const trimmed = text.trim();
  const prefix = /^(exact|glob|semver|newest):(.*)$/s.exec(trimmed);
  const [kind, value] = prefix ? [prefix[1]!, prefix[2]!.trim()] : [GLOB_CHARACTERS.test(trimmed) ? 'glob' : 'exact', trimmed];
  const selector = selectorOf(kind, value);
  const problem = selectorProblem(selector);
  if (problem) throw new Error(`cannot use the tag selector "${text}": ${problem}`);
  return selector;
}

function selectorOf(kind: string, value: string): TagSelector {
  switch (kind) {
    case 'glob':
      return { kind: 'glob', pattern: value };
    case 'semver':
      return { kind: 'semver', range: value };
    case 'newest':
      return { kind: 'newest', count: /^\d+$/.test(value) ? Number(value) : Number.NaN };
    default:
      return { kind: 'exact', tags: value.split(',').map((tag) => tag.trim()).filter(Boolean) };
  }
}

/** "1.2, latest", "glob 1.*", "semver ^1.2", "newest 3": for messages and the dashboard. */
export function describeSelector(selector: TagSelector): string {
  switch (selector.kind) {
    case 'exact':
      return selector.tags.join(', ');
    case 'glob':
      return `glob ${selector.pattern}`;
    case 'semver':
      return `semver ${selector.range}`;
    case 'newest':
      return `newest ${selector.count}`;
  }
}

/** "linux/arm64/v8", as docker --platform writes it. */
export function formatPlatform(platform: Partial<Platform>): string {
  return [platform.os ?? 'unknown', platform.architecture ?? 'unknown', platform.variant].filter(Boolean).join('/');
}

/** "this machine", "all platforms", or the list. */
export function describePlatforms(choice: PlatformChoice): string {
  if (choice === 'host') return 'this machine';
  if (choice === 'all') return 'all platforms';
  return choice.map(formatPlatform).join(', ');
}

/** "linux/amd64, linux/arm/v7" (commas or spaces between): the platforms, or an error naming the first that is not os/arch[/variant]. */
export function parsePlatformList(text: string): Platform[] {
  return text.split(/[\s,]+/).filter(Boolean).map((entry) => {
    const [os, architecture, variant, extra] = entry.split('/');
    if (!os || !architecture || extra !== undefined || !/^[a-z0-9_./-]+$/i.test(entry)) {
      throw new Error(`cannot read the platform "${entry}": write os/arch or os/arch/variant (e.g. linux/arm64), several separated by commas, or all`);
    }
    return { os, architecture, ...(variant ? { variant } : {}) };
  });
}

/** Reads `--platform`: "all", "host", or "os/arch[/variant]" separated by commas. */
export function parsePlatformChoice(text: string): PlatformChoice {
  const trimmed = text.trim();
  if (trimmed === 'all' || trimmed === 'host') return trimmed;
  const platforms = parsePlatformList(trimmed);
  if (platforms.length === 0) throw new Error('name at least one platform (os/arch, e.g. linux/arm64), or all');
  return platforms;
}
