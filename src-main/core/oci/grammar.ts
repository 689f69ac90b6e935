/**
 * The OCI Distribution Spec grammar for repository names, tags and digests.
 * One place, used by the mirror (to reject bad requests before they reach the
 * store or the upstream) and by everything that builds references. The tag
 * grammar is part of the vocabulary the dashboard shares (src-main/api).
 */
import { OCI_TAG } from '../../api/selectors.js';

const NAME_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG = OCI_TAG;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Names longer than this are refused by the reference implementation; clients never need more. */
export const MAX_NAME_LENGTH = 255;

/** The hash algorithms Layover can verify, with the exact encoded form each requires. */
export const DIGEST_ALGORITHMS = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
} as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  encoded: string;
}

/** A digest Layover can verify, or undefined (the caller answers DIGEST_INVALID). */
export function parseDigest(digest: string): ParsedDigest | undefined {
  if (!DIGEST.test(digest)) return undefined;
  const separator = digest.indexOf(':');
  const algorithm = digest.slice(0, separator);
  const encoded = digest.slice(separator + 1);
  if (!Object.hasOwn(DIGEST_ALGORITHMS, algorithm)) return undefined; // not `in`: "constructor" is in every object
  const pattern = DIGEST_ALGORITHMS[algorithm as DigestAlgorithm];
  return pattern.test(encoded) ? { algorithm: algorithm as DigestAlgorithm, encoded } : undefined;
}

export function isDigest(reference: string): boolean {
  return reference.includes(':');
}
