import picomatch from 'picomatch';
import semver from 'semver';
import type { TagSelector } from '../api/types.js';

// How selectors are read and described is the vocabulary everyone shares (src-main/api/selectors.ts).
export { describeSelector, parseTagSelector, selectorProblem } from '../api/selectors.js';

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
