import picomatch from 'picomatch';
import semver from 'semver';
import type { TagSelector } from '../api/types.js';
import { isValidTag } from '../core/oci/grammar.js';

/**
 * Which tags of a repository a prefetch wants. Versions follow image
 * habits: "1.2" and "v1.2" count as 1.2.0, "1" as 1.0.0; a suffix such as
 * "1.2.3-alpine" is a semver prerelease, so ranges and newest-N leave it out
 * unless the range itself names a prerelease (semver's own rule).
 */
export function selectTags(tags: readonly string[], selector: TagSelector): string[] {
  switch (selector.kind) {
    case 'exact':
      return [...new Set(selector.tags)];
    case 'glob': {
      const matches = picomatch(selector.pattern);
      return tags.filter((tag) => matches(tag));
    }
    case 'semver':
      return versionsOf(tags).filter(({ version }) => semver.satisfies(version, selector.range)).map(({ tag }) => tag);
    case 'newest':
      return versionsOf(tags)
        .filter(({ version }) => version.prerelease.length === 0)
        .sort((a, b) => semver.rcompare(a.version, b.version) || b.tag.length - a.tag.length)
        .slice(0, selector.count)
        .map(({ tag }) => tag);
  }
}

/** The tag as a semver version, or undefined when it is not a version ("latest", "stable", a date...). */
export function tagVersion(tag: string): semver.SemVer | undefined {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?$/.exec(tag);
  if (!match) return undefined;
  const [, major, minor = '0', patch = '0', prerelease = ''] = match;
  return semver.parse(`${major}.${minor}.${patch}${prerelease}`) ?? undefined;
}

function versionsOf(tags: readonly string[]): Array<{ tag: string; version: semver.SemVer }> {
  return tags.flatMap((tag) => {
    const version = tagVersion(tag);
    return version ? [{ tag, version }] : [];
  });
}

/** Whether a selector needs the upstream's tag list (an exact list names its tags itself). */
export function needsTagList(selector: TagSelector): boolean {
  return selector.kind !== 'exact';
}

/** A problem with a selector, in words; undefined when it is fine. */
export function selectorProblem(selector: TagSelector): string | undefined {
  switch (selector.kind) {
    case 'exact': {
      const bad = selector.tags.find((tag) => !isValidTag(tag));
      if (selector.tags.length === 0) return 'name at least one tag';
      return bad === undefined ? undefined : `"${bad}" is not a valid tag`;
    }
    case 'glob':
      return selector.pattern.trim() ? undefined : 'the glob pattern is empty';
    case 'semver':
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
