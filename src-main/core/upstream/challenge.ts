/** A parsed WWW-Authenticate challenge: scheme plus its auth-params. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses the first challenge of a WWW-Authenticate header (RFC 7235): registries
 * send exactly one, Bearer with realm/service/scope or Basic with a realm.
 */
export function parseChallenge(header: string | undefined): AuthChallenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = Object.create(null);
  const paramPattern = /([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,\s*|$)/gy;
  const rest = match[2] ?? '';
  let param: RegExpExecArray | null;
  while (paramPattern.lastIndex < rest.length && (param = paramPattern.exec(rest))) {
    params[param[1]!.toLowerCase()] = param[2] !== undefined ? param[2].replace(/\\(.)/g, '$1') : (param[3] ?? '');
  }
  return { scheme: match[1]!.toLowerCase(), params };
}
