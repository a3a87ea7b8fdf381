/**
 * What probes learned about a QEMU binary, kept on disk between processes as libvirt keeps its
 * capabilities cache. Without it every tsvirsh command and every library process starts the
 * binary again before its first guest (about 0.1 s a probe here, a third of an instant restore).
 *
 * One JSON file per binary and question under `$XDG_CACHE_HOME/tsvirt/qemu/capabilities`
 * (default `~/.cache/...`; for root always `/var/cache/tsvirt/qemu/capabilities`), private to
 * the user: a directory or record that another user could have written is ignored. A record is
 * used only while everything it was probed under still holds: the binary's path, size, mtime
 * and ctime, its module directory, the kernel release, whether this user can open /dev/kvm (CPU
 * models are usable or not by it), and the record format and tsvirt build that wrote it. A
 * record that is missing, stale, unreadable or of the wrong shape is probed again; a cache that
 * cannot be written only loses the speed-up.
 */
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { homedir, release } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Bumped whenever what a probe collects, or how it is recorded, changes. The code's own stamp
 * below cannot be relied on for that alone: npm gives every packed file the same mtime.
 */
const RECORD_FORMAT = 2;

let chosenDir: string | null = null;

/**
 * Keeps the records in `dir` instead (a program with a state directory of its own, or a test);
 * null goes back to the default.
 */
export function setCapabilitiesCacheDir(dir: string | null): void {
  chosenDir = dir;
}

/**
 * The directory of the records. Root never takes it from the environment: `sudo -E` or `su`
 * keep a user's HOME and XDG_CACHE_HOME, and a record there would be the user's to write.
 */
export function capabilitiesCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (chosenDir) return chosenDir;
  if (process.geteuid?.() === 0) return '/var/cache/tsvirt/qemu/capabilities';
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'tsvirt', 'qemu', 'capabilities');
}

/** mtime of a directory, or 0 when it is not there. */
function dirStamp(dir: string): number {
  try {
    return statSync(dir).mtimeMs;
  } catch {
    return 0;
  }
}

/** Everything a record depends on; null when the binary cannot be examined (never cached then). */
function stamp(binary: string): Record<string, string | number | boolean> | null {
  try {
    const st = statSync(binary);
    const code = statSync(__filename);
    const prefix = dirname(dirname(binary));
    let kvm = false;
    try {
      accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
      kvm = true;
    } catch {
      /* no KVM for this user */
    }
    return {
      binary,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      // QOM types and devices come from the binary's module packages too (installed or removed
      // beside an unchanged binary).
      modules: dirStamp(join(prefix, 'lib', 'x86_64-linux-gnu', 'qemu')) + dirStamp(join(prefix, 'lib', 'qemu')),
      kernel: release(),
      kvm,
      tsvirt: `${RECORD_FORMAT}:${code.mtimeMs}:${code.size}`,
    };
  } catch {
    return null;
  }
}

/** True for a file or directory of this user that nobody else can write. */
function privateToUser(st: Stats): boolean {
  return st.uid === process.geteuid?.() && (st.mode & 0o022) === 0;
}

/**
 * True when `dir` is a real directory of this user that nobody else can write (a record in a
 * directory another user controls could say anything).
 */
function ownDirectory(dir: string): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && privateToUser(st);
  } catch {
    return false;
  }
}

function recordFile(question: string, binary: string): string {
  const name = createHash('sha256').update(binary).digest('hex').slice(0, 32);
  return join(capabilitiesCacheDir(), `${question}-${name}.json`);
}

function read<T>(file: string, want: Record<string, unknown>, valid: (v: unknown) => v is T): T | undefined {
  try {
    if (!ownDirectory(dirname(file))) return undefined;
    const st = lstatSync(file);
    if (!st.isFile() || !privateToUser(st)) return undefined;
    const rec = JSON.parse(readFileSync(file, 'utf8')) as { stamp?: unknown; value?: unknown };
    if (JSON.stringify(rec.stamp) !== JSON.stringify(want)) return undefined;
    return valid(rec.value) ? rec.value : undefined;
  } catch {
    return undefined;
  }
}

function write(file: string, want: Record<string, unknown>, value: unknown): void {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    if (!ownDirectory(dirname(file))) return;
    // 'wx': a name planted in the directory beforehand (a symlink) is refused, never followed.
    writeFileSync(tmp, JSON.stringify({ stamp: want, value }), { mode: 0o600, flag: 'wx' });
    // Renamed into place: a reader sees the old record or the new one, never half of one.
    renameSync(tmp, file);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* no directory to leave it in either */
    }
  }
}

/** The current record of `question` about `binary`, if any, and how to keep a new answer. */
function recorded<T>(question: string, binary: string, valid: (v: unknown) => v is T): { hit?: T; keep(value: T): void } {
  const want = stamp(binary);
  if (!want) return { keep: () => undefined };
  const file = recordFile(question, binary);
  return { hit: read(file, want, valid), keep: (value) => write(file, want, value) };
}

/**
 * `probe()`'s answer to `question` about `binary`, from the disk when a current record holds
 * one that `valid` accepts, else probed and recorded. A failed probe records nothing.
 */
export async function persisted<T>(question: string, binary: string, valid: (v: unknown) => v is T, probe: () => Promise<T>): Promise<T> {
  const rec = recorded(question, binary, valid);
  if (rec.hit !== undefined) return rec.hit;
  const value = await probe();
  rec.keep(value);
  return value;
}

/**
 * The synchronous form of {@link persisted}, for probes that callers make synchronously (the
 * machine types asked while domain XML is parsed).
 */
export function persistedSync<T>(question: string, binary: string, valid: (v: unknown) => v is T, probe: () => T): T {
  const rec = recorded(question, binary, valid);
  if (rec.hit !== undefined) return rec.hit;
  const value = probe();
  rec.keep(value);
  return value;
}

/** True for an array of strings (a list of names in a record). */
export function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
