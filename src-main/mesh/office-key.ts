import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';

/**
 * The office key: 16 random bytes, shared by every member of one office mesh.
 * It travels as a short join code (Crockford base32 with a 2-byte checksum, so
 * a mistyped code is caught at `layover mesh join`, not at the first pull) or
 * as a key file (mode 0600). Peers prove membership with an HMAC made from it.
 */
const KEY_BYTES = 16;
const CODE_PREFIX = 'LM1';
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const FILE_FORMAT = 'layover-office-key';

export class OfficeKey {
  /** Identifies the office on the LAN (mDNS), without revealing the key. */
  readonly officeId: string;
  private readonly signingKey: Buffer;

  private constructor(private readonly secret: Buffer) {
    this.officeId = createHash('sha256').update('layover-mesh-office-id').update(secret).digest('hex').slice(0, 16);
    this.signingKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'layover-mesh-request-signing', 32));
  }

  static generate(): OfficeKey {
    return new OfficeKey(randomBytes(KEY_BYTES));
  }

  /** Reads a join code; mistyped letters (O for 0, I or L for 1) are forgiven, a wrong checksum is not. */
  static fromCode(code: string): OfficeKey {
    const compact = code.trim().toUpperCase().replace(/[\s-]/g, '');
    if (!compact.startsWith(CODE_PREFIX)) throw new Error(`an office join code starts with ${CODE_PREFIX}- (made by \`layover mesh init\`)`);
    const bytes = decodeBase32(compact.slice(CODE_PREFIX.length).replace(/O/g, '0').replace(/[IL]/g, '1'));
    if (!bytes || bytes.length !== KEY_BYTES + 2) throw new Error('this is not a whole office join code: check that every group was copied');
    const secret = bytes.subarray(0, KEY_BYTES);
    if (!checksum(secret).equals(bytes.subarray(KEY_BYTES))) throw new Error('the office join code has a typo (its checksum does not match)');
    return new OfficeKey(Buffer.from(secret));
  }

  /** The join code, in groups of five: LM1-XXXXX-XXXXX-... */
  toCode(): string {
    const body = encodeBase32(Buffer.concat([this.secret, checksum(this.secret)]));
    return [CODE_PREFIX, ...(body.match(/.{1,5}/g) ?? [])].join('-');
  }

  sign(text: string): string {
    return createHmac('sha256', this.signingKey).update(text).digest('hex');
  }

  verify(text: string, signature: string | undefined): boolean {
    if (!signature || !/^[0-9a-f]{64}$/.test(signature)) return false;
    return timingSafeEqual(Buffer.from(this.sign(text), 'hex'), Buffer.from(signature, 'hex'));
  }

  fileContent(): string {
    return `${JSON.stringify({ format: FILE_FORMAT, version: 1, code: this.toCode(), createdAt: new Date().toISOString() }, null, 2)}\n`;
  }
}

/** Writes a new key file, owner-only; an existing file is never overwritten (it may be the office's only copy). */
export async function writeOfficeKeyFile(file: string, key: OfficeKey): Promise<void> {
  try {
    await writeFile(file, key.fileContent(), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${file} already exists: an office key is never overwritten (choose another --out, or remove it yourself)`);
    throw new Error(`cannot write the office key to ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Reads a key file; one that other users could read is refused, as ssh refuses an open private key. */
export async function readOfficeKeyFile(file: string): Promise<OfficeKey> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`the office key ${file} cannot be read: ${error.code ?? error.message}`);
  });
  if ((info.mode & 0o077) !== 0 && process.platform !== 'win32') {
    throw new Error(`the office key ${file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}): run chmod 600 ${file}`);
  }
  const text = await readFile(file, 'utf8');
  let parsed: { format?: unknown; code?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    parsed = { format: FILE_FORMAT, code: text.trim() }; // a file holding just the join code
  }
  if (parsed.format !== FILE_FORMAT || typeof parsed.code !== 'string') throw new Error(`${file} is not a Layover office key file`);
  try {
    return OfficeKey.fromCode(parsed.code);
  } catch (error) {
    throw new Error(`the office key ${file}: ${(error as Error).message}`);
  }
}

function checksum(secret: Buffer): Buffer {
  return createHash('sha256').update(secret).digest().subarray(0, 2);
}

function encodeBase32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function decodeBase32(text: string): Buffer | undefined {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of text) {
    const index = ALPHABET.indexOf(char);
    if (index < 0) return undefined;
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  // The last character's unused bits are zero in every code we make: anything else is a typo there.
  if (bits > 0 && (value & ((1 << bits) - 1)) !== 0) return undefined;
  return Buffer.from(out);
}
