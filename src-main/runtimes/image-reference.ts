import { DOCKER_HUB } from '../core/oci/docker-hub.js';
import { isValidName, isValidTag, parseDigest } from '../core/oci/grammar.js';
import { RuntimeError } from './errors.js';

/**
 * Image references as Docker reads them (the distribution/reference grammar),
 * and their names on Layover's mirror.
 *
 * No npm package parses references the way Docker normalises them (Docker Hub's
 * `library/` and `docker.io`) while being kept up to date, so this is a small
 * parser that follows the grammar in distribution's reference/regexp.go.
 */
export interface ImageReference {
  /** The registry host as clients name it: "docker.io" for Docker Hub. */
  registry: string;
  /** The repository inside that registry: "library/alpine" for an official Hub image. */
  repository: string;
  /** Absent only when the reference names a digest alone. */
  tag?: string;
  digest?: string;
}

export { DOCKER_HUB };

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
/** distribution's NameTotalLengthMax: registry and repository together. */
const NAME_TOTAL_LENGTH_MAX = 255;

export function parseImageReference(input: string): ImageReference {
  const refuse = (why: string): never => {
    throw new RuntimeError(`"${input}" is not an image reference: ${why}`);
  };
  const [nameAndTag = '', digest, ...extra] = input.split('@');
  if (extra.length > 0) refuse('more than one "@"');
  if (digest !== undefined && !parseDigest(digest)) refuse(`"${digest}" is not a sha256 or sha512 digest`);

  const { name, tag } = splitTag(nameAndTag);
  if (tag !== undefined && !isValidTag(tag)) refuse(`"${tag}" is not a valid tag`);

  const { registry, remainder } = splitRegistry(name);
  if (!DOMAIN.test(registry)) refuse(`"${registry}" is not a registry host`);
  const repository = registry === DOCKER_HUB && !remainder.includes('/') ? `library/${remainder}` : remainder;
  if (repository.toLowerCase() !== repository) refuse('repository names must be lower case');
  if (`${registry}/${repository}`.length > NAME_TOTAL_LENGTH_MAX) refuse('the name is longer than 255 characters');
  if (!isValidName(repository)) {
    refuse(`"${remainder}" is not a valid repository name`);
  }

  return { registry, repository, tag: tag ?? (digest === undefined ? 'latest' : undefined), digest };
}

/** The ":tag" suffix: a colon after the last slash (a colon before it is a registry port). */
function splitTag(nameAndTag: string): { name: string; tag?: string } {
  const colon = nameAndTag.lastIndexOf(':');
  if (colon > nameAndTag.lastIndexOf('/')) {
    return { name: nameAndTag.slice(0, colon), tag: nameAndTag.slice(colon + 1) };
  }
  return { name: nameAndTag };
}

/** Docker's rule: the first component is a registry only if it looks like a host (a dot, a port, "localhost" or capitals). */
function splitRegistry(name: string): { registry: string; remainder: string } {
  const slash = name.indexOf('/');
  const first = name.slice(0, slash);
  const looksLikeHost = slash > 0 && (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first);
  if (!looksLikeHost) return { registry: DOCKER_HUB, remainder: name };
  const registry = first === 'index.docker.io' ? DOCKER_HUB : first;
  return { registry, remainder: name.slice(slash + 1) };
}

/** The canonical text of a reference: registry/repository[:tag][@digest]. */
export function formatReference(reference: ImageReference): string {
  const tag = reference.tag === undefined ? '' : `:${reference.tag}`;
  const digest = reference.digest === undefined ? '' : `@${reference.digest}`;
  return `${reference.registry}/${reference.repository}${tag}${digest}`;
}

/**
 * The same image as named on Layover's mirror. The mirror routes a first path
 * component that names a configured registry, and serves its default registry
 * (Docker Hub unless configured otherwise) without one:
 *   dtr.example.com/eng/app:7  ->  127.0.0.1:5050/dtr.example.com/eng/app:7
 *   alpine                     ->  127.0.0.1:5050/library/alpine:latest
 */
export function mirrorReference(
  reference: ImageReference,
  mirrorHost: string,
  defaultRegistry: string = DOCKER_HUB,
): ImageReference {
  const repository = reference.registry === defaultRegistry
    ? reference.repository
    : `${registryAsPathComponent(reference.registry)}/${reference.repository}`;
  const mirrored = { ...reference, registry: mirrorHost, repository };
  if (`${mirrorHost}/${repository}`.length > NAME_TOTAL_LENGTH_MAX) {
    throw new RuntimeError(`${formatReference(mirrored)} is longer than the 255 characters Docker allows in a name`);
  }
  return mirrored;
}

/**
 * A registry host as the first component of a repository path. The grammar
 * has no room for a port there, so a registry on a non-default port cannot be
 * reached this way (containerd's hosts.toml, which names it in ?ns=, can).
 */
export function registryAsPathComponent(registry: string): string {
  const component = registry.toLowerCase();
  if (component.includes('/') || !isValidName(component)) {
    throw new RuntimeError(
      `the registry "${registry}" cannot be named in a repository path on the mirror (a port or brackets are not allowed there)`,
    );
  }
  return component;
}
