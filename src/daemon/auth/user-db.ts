/**
 * tsvirtd's SASL user database: one line per user, `name:iterations:salt:storedKey:serverKey`
 * (the last three base64), so the file holds SCRAM keys and never a password. The daemon reads
 * it on every authentication, so users added or removed take effect without a restart.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { SCRAM_MAX_ITERATIONS, SCRAM_MIN_ITERATIONS, storedKeysFor, type ScramStoredKeys } from '../../remote/sasl/scram';

/** A user name the database accepts: printable, no ':' (the field separator) and bounded. */
const USER_RE = /^[^\s:\x00-\x1f\x7f]{1,255}$/;
/** A database larger than this is refused rather than read into memory. */
const MAX_DB_BYTES = 16 * 1024 * 1024;

/** The default database path: /etc/tsvirt/sasl-users for root, else under XDG_CONFIG_HOME. */
export function defaultUserDb(env: NodeJS.ProcessEnv = process.env): string {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/etc/tsvirt/sasl-users';
  const base = env.XDG_CONFIG_HOME ?? path.join(env.HOME ?? '/', '.config');
  return path.join(base, 'tsvirt', 'sasl-users');
}

/** Checks a user name for the database, INVALID_ARG otherwise. */
export function checkUserName(name: string): string {
  if (!USER_RE.test(name)) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, `invalid SASL user name '${name.slice(0, 64)}'`);
  return name;
}

function parseLine(line: string, file: string, n: number): [string, ScramStoredKeys] {
  const f = line.split(':');
  const iterations = Number(f[1]);
  const bad = (): never => {
    throw VirError.report(ErrorCode.PARSE_FAILED, ErrorDomain.CONF, `${file}:${n}: not a tsvirtd SASL user entry`);
  };
  if (f.length !== 5 || !USER_RE.test(f[0]) || !Number.isInteger(iterations)) bad();
  if (iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) bad();
  const [salt, storedKey, serverKey] = f.slice(2).map((b) => Buffer.from(b, 'base64'));
  if (salt.length < 8 || storedKey.length !== 32 || serverKey.length !== 32) bad();
  return [f[0], { salt, iterations, storedKey, serverKey }];
}

/** Reads the whole database; a missing file is an empty one. */
export function readUserDb(file: string): Map<string, ScramStoredKeys> {
  const users = new Map<string, ScramStoredKeys>();
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > MAX_DB_BYTES) {
      throw VirError.report(ErrorCode.PARSE_FAILED, ErrorDomain.CONF, `${file}: not a regular file of at most ${MAX_DB_BYTES} bytes`);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return users;
    throw VirError.from(err, ErrorDomain.CONF);
  }
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const [name, keys] = parseLine(line, file, i + 1);
    users.set(name, keys);
  });
  return users;
}

/** Looks one user up (a fresh read of the file). */
export function lookupUser(file: string, name: string): ScramStoredKeys | undefined {
  return readUserDb(file).get(name);
}

/**
 * Writes the database atomically (temporary file renamed over it, mode 0600), so a daemon
 * reading it concurrently sees the old or the new content, never half of one.
 */
function writeUserDb(file: string, users: Map<string, ScramStoredKeys>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const lines = [...users].map(
    ([n, k]) => `${n}:${k.iterations}:${k.salt.toString('base64')}:${k.storedKey.toString('base64')}:${k.serverKey.toString('base64')}`,
  );
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.writeFileSync(tmp, lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Adds a user or replaces its password. */
export function setUserPassword(file: string, name: string, password: string, iterations?: number): void {
  checkUserName(name);
  if (password.length === 0) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, 'empty SASL password');
  const users = readUserDb(file);
  users.set(name, storedKeysFor(password, iterations));
  writeUserDb(file, users);
}

/** Removes a user; INVALID_ARG when it is not there. */
export function deleteUser(file: string, name: string): void {
  const users = readUserDb(file);
  if (!users.delete(name)) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, `no SASL user '${name.slice(0, 64)}' in ${file}`);
  writeUserDb(file, users);
}
