/**
 * OCI Distribution error codes, and the one error type the core throws when a
 * request must end in one of them. The mirror turns it into the spec's JSON body.
 */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'RANGE_INVALID'
  | 'PAGINATION_NUMBER_INVALID'
  /** Not in the spec's table, but what distribution answers for upstream trouble; clients show the message. */
  | 'UNAVAILABLE'
  | 'UNKNOWN';

export class OciError extends Error {
  constructor(
    readonly status: number,
    readonly code: OciErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = 'OciError';
  }

  toJSON(): { errors: Array<{ code: string; message: string; detail?: unknown }> } {
    return { errors: [{ code: this.code, message: this.message, ...(this.detail === undefined ? {} : { detail: this.detail }) }] };
  }
}

export const isOciError = (error: unknown): error is OciError => error instanceof OciError;
