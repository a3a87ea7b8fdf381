/**
 * SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash) building blocks shared by tsvirtd's server side
 * and the remote driver's client side: key derivation, the proof and signatures, and the
 * attribute syntax of SCRAM messages. Neither side carries a copy of these.
 */
import crypto from 'node:crypto';

/** The mechanism name as SASL lists it. */
export const SCRAM_MECH = 'SCRAM-SHA-256';
/** Iterations of newly stored passwords: RFC 7677's minimum recommendation. */
export const SCRAM_DEFAULT_ITERATIONS = 4096;
/** Fewer iterations than this are refused by both sides (too cheap to brute-force). */
export const SCRAM_MIN_ITERATIONS = 4096;
/**
 * More than this is refused too: the client runs PBKDF2 for whatever count the server names,
 * so an unbounded one would let a hostile server stall a client for minutes.
 */
export const SCRAM_MAX_ITERATIONS = 1_000_000;

/** The keys a server stores for a user (it never needs the password itself). */
export interface ScramStoredKeys {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** HMAC-SHA-256. */
export function hmac(key: Buffer, data: string | Buffer): Buffer {
  return crypto.createHmac('sha256', key).update(data).digest();
}

/** SHA-256. */
export function sha256(data: Buffer): Buffer {
  return crypto.createHash('sha256').update(data).digest();
}

/** Byte-wise XOR of two buffers of equal length. */
export function xorBytes(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** SaltedPassword = Hi(password, salt, i), i.e. PBKDF2-HMAC-SHA-256 with a 32-byte output. */
export function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return crypto.pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
}

/** ClientKey, StoredKey and ServerKey of a salted password. */
export function deriveKeys(salted: Buffer): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const clientKey = hmac(salted, 'Client Key');
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key') };
}

/** The keys to store for a new password, with a fresh random salt. */
export function storedKeysFor(password: string, iterations = SCRAM_DEFAULT_ITERATIONS): ScramStoredKeys {
  const salt = crypto.randomBytes(16);
  const { storedKey, serverKey } = deriveKeys(saltedPassword(password, salt, iterations));
  return { salt, iterations, storedKey, serverKey };
}

/** A random printable nonce (base64 never contains ','). */
export function makeNonce(): string {
  return crypto.randomBytes(24).toString('base64');
}

/**
 * Splits a SCRAM message into its `k=value` attributes, in order. Returns null for anything
 * that is not that syntax (an attribute name is one ASCII letter; values may contain '=').
 */
export function parseAttributes(msg: string): Array<[string, string]> | null {
  const out: Array<[string, string]> = [];
  for (const part of msg.split(',')) {
    if (part.length < 2 || part[1] !== '=' || !/^[A-Za-z]$/.test(part[0])) return null;
    out.push([part[0], part.slice(2)]);
  }
  return out;
}

/** RFC 5802 saslname: ',' and '=' escaped as =2C and =3D. */
export function encodeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** Decodes a saslname; null when it holds a bare '=' that is not a valid escape. */
export function decodeSaslName(name: string): string | null {
  if (/=(?!2C|3D)/.test(name)) return null;
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** True when `s` is a printable nonce as RFC 5802 defines it (no ',' and no controls). */
export function isPrintableNonce(s: string): boolean {
  return s.length > 0 && s.length <= 1024 && /^[\x21-\x2b\x2d-\x7e]+$/.test(s);
}
