/**
 * A failure a person can act on. The message is one line that says what went
 * wrong and, where there is one, what to do about it; the CLI prints it as
 * `layover: <message>` and exits 1, the dashboard shows it as is.
 */
export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The system error code of a failed fs/child_process call, if it has one. */
export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
