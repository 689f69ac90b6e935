import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { RuntimeError } from './errors.js';
import { isSameMirror, mirrorUrl, type MirrorAddress } from './mirror-address.js';

/**
 * Editing Docker's daemon.json as text, so that everything Layover does not
 * own stays exactly as the person wrote it: other keys, their order, their
 * formatting, other mirrors. Only the value of "registry-mirrors" is
 * rewritten (in the style it was written in), or the key added or removed.
 * Pure functions: reading and writing the file is daemon-json-file.ts.
 */

const MIRRORS_KEY = 'registry-mirrors';
const BYTE_ORDER_MARK = '\uFEFF';

export interface DaemonJsonContent {
  /** The registry-mirrors entries, in order. */
  mirrors: string[];
  /** Whether the file names registry-mirrors at all: dockerd reloads only the keys it finds. */
  hasMirrorsKey: boolean;
}

/** Reads daemon.json text, refusing anything dockerd would refuse or Layover could not edit safely. */
export function readDaemonJson(text: string, path: string): DaemonJsonContent {
  const body = withoutByteOrderMark(text);
  if (body.trim() === '') return { mirrors: [], hasMirrorsKey: false };
  const document = parseStrictJson(body, path);
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new RuntimeError(`${path} is not a JSON object, so it is not a daemon.json Layover can edit; it was left unchanged`);
  }
  const mirrors = (document as Record<string, unknown>)[MIRRORS_KEY];
  if (mirrors === undefined) return { mirrors: [], hasMirrorsKey: false };
  if (!Array.isArray(mirrors) || !mirrors.every((entry) => typeof entry === 'string')) {
    throw new RuntimeError(`${path}: "${MIRRORS_KEY}" must be a list of URLs; it was left unchanged`);
  }
  return { mirrors, hasMirrorsKey: true };
}

/**
 * The text with Layover's mirror first in registry-mirrors; the same text when
 * it already is. `replaces`: other forms of Layover's address to drop, such as
 * http://127.0.0.1:5050 on Docker Desktop, whose VM never reaches it.
 */
export function addLayoverMirror(text: string, path: string, mirror: MirrorAddress, replaces: MirrorAddress[] = []): string {
  const { mirrors } = readDaemonJson(text, path);
  const others = mirrors.filter((entry) => ![mirror, ...replaces].some((layover) => isSameMirror(entry, layover)));
  const alreadyFirst = mirrors.length > 0 && isSameMirror(mirrors[0]!, mirror) && others.length === mirrors.length - 1;
  if (alreadyFirst) return text;
  return setMirrors(text, [mirrorUrl(mirror), ...others]);
}

/**
 * The text without any entry for the given mirrors. The key stays, as an
 * empty list when nothing else is left: on SIGHUP dockerd reloads only the
 * keys present in the file, so a removed key would leave Layover's mirror in
 * force until dockerd restarts. `stillActive` (the engine lists Layover's
 * mirror now) also adds the empty key to a file that has no entry to remove,
 * which repairs an engine left with the mirror by a revert that dropped the key.
 * The same text when there is nothing to change.
 */
export function removeLayoverMirror(
  text: string,
  path: string,
  layoverMirrors: MirrorAddress[],
  { stillActive = false }: { stillActive?: boolean } = {},
): string {
  const { mirrors, hasMirrorsKey } = readDaemonJson(text, path);
  const kept = mirrors.filter((entry) => !layoverMirrors.some((mirror) => isSameMirror(entry, mirror)));
  const keyMissing = stillActive && !hasMirrorsKey;
  if (kept.length === mirrors.length && !keyMissing) return text;
  return setMirrors(text, kept);
}

function setMirrors(text: string, mirrors: string[]): string {
  const bom = text.startsWith(BYTE_ORDER_MARK) ? BYTE_ORDER_MARK : '';
  const body = withoutByteOrderMark(text);
  const root = body.trim() === '' ? undefined : parseTree(body);
  if (root === undefined) return bom + newDocument(mirrors);
  const existing = findNodeAtLocation(root, [MIRRORS_KEY]);
  return bom + (existing ? replaceValue(body, existing, mirrors) : insertProperty(body, root, mirrors));
}

function newDocument(mirrors: string[]): string {
  return `${JSON.stringify({ [MIRRORS_KEY]: mirrors }, null, 2)}\n`;
}

/** Rewrites the array where it stands: on one line if it was on one line, else one entry a line. */
function replaceValue(body: string, valueNode: Node, mirrors: string[]): string {
  const oldValue = body.slice(valueNode.offset, valueNode.offset + valueNode.length);
  const propertyIndent = indentOfLineAt(body, valueNode.offset);
  const newValue = oldValue.includes('\n')
    ? multiLineArray(mirrors, propertyIndent, indentUnit(body), lineEnding(body))
    : `[${mirrors.map((entry) => JSON.stringify(entry)).join(', ')}]`;
  return body.slice(0, valueNode.offset) + newValue + body.slice(valueNode.offset + valueNode.length);
}

/** Adds the key after the last property, in the layout the object already uses. */
function insertProperty(body: string, root: Node, mirrors: string[]): string {
  const properties = root.children ?? [];
  const eol = lineEnding(body);
  const unit = indentUnit(body);
  const objectText = body.slice(root.offset, root.offset + root.length);
  const multiLine = objectText.includes('\n') || properties.length === 0;
  const key = JSON.stringify(MIRRORS_KEY);
  if (properties.length === 0) {
    const property = `${unit}${key}: ${multiLineArray(mirrors, unit, unit, eol)}`;
    return body.slice(0, root.offset) + `{${eol}${property}${eol}}` + body.slice(root.offset + root.length);
  }
  const last = properties[properties.length - 1]!;
  const at = last.offset + last.length;
  const inserted = multiLine
    ? `,${eol}${indentOfLineAt(body, last.offset)}${key}: ${multiLineArray(mirrors, indentOfLineAt(body, last.offset), unit, eol)}`
    : `, ${key}: [${mirrors.map((entry) => JSON.stringify(entry)).join(', ')}]`;
  return body.slice(0, at) + inserted + body.slice(at);
}

function multiLineArray(entries: string[], baseIndent: string, unit: string, eol: string): string {
  if (entries.length === 0) return '[]';
  const lines = entries.map((entry) => `${baseIndent}${unit}${JSON.stringify(entry)}`);
  return `[${eol}${lines.join(`,${eol}`)}${eol}${baseIndent}]`;
}

function indentOfLineAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/** The indentation of the first indented line: the file's own unit. */
function indentUnit(text: string): string {
  return /\n([ \t]+)\S/.exec(text)?.[1] ?? '  ';
}

function lineEnding(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function withoutByteOrderMark(text: string): string {
  return text.startsWith(BYTE_ORDER_MARK) ? text.slice(1) : text;
}

/**
 * JSON.parse decides (dockerd is as strict); jsonc-parser, in its strict
 * mode, says where, because V8's messages often give no position at all.
 */
function parseStrictJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RuntimeError(`${path} is not valid JSON (${describeSyntaxError(text, error)}); it was left unchanged`);
  }
}

function describeSyntaxError(text: string, error: unknown): string {
  const errors: ParseError[] = [];
  parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first !== undefined) return `${lineColumn(text, first.offset)}: ${humanise(printParseErrorCode(first.error))}`;
  const position = /at position (\d+)/.exec(String((error as Error).message))?.[1];
  return position === undefined ? String((error as Error).message) : lineColumn(text, Number(position));
}

/** "line 3, column 5", both counted from 1 as editors show them. */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return `line ${line}, column ${column}`;
}

/** "CommaExpected" -> "comma expected". */
function humanise(code: string): string {
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}
