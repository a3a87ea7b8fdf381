/**
 * What probes learned about a QEMU binary, kept on disk between processes as libvirt keeps its
 * capabilities cache. Without it every tsvirsh command and every library process starts the
 * binary again before its first guest (about 0.1 s a probe here, a third of an instant restore).
 *
 * One JSON file per binary and question under `$XDG_CACHE_HOME/tsvirt/qemu/capabilities`
 * (default `~/.cache/...`), private to the user. A record is used only while everything it was
 * probed under still holds: the binary's path, size, mtime and ctime, the kernel release,
 * whether /dev/kvm exists (CPU models are usable or not by it), and the tsvirt build that wrote
 * it (what a probe collects changes with the code). A record that is missing, stale, unreadable
 * or of the wrong shape is probed again; a cache that cannot be written only loses the speed-up.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, release } from 'node:os';
import { join } from 'node:path';

/** The directory of the records, from the environment of this process. */
export function capabilitiesCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'tsvirt', 'qemu', 'capabilities');
}

/** Everything a record depends on; null when the binary cannot be examined (never cached then). */
function stamp(binary: string): Record<string, string | number | boolean> | null {
  try {
    const st = statSync(binary);
    const code = statSync(__filename);
    return {
      binary,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      kernel: release(),
      kvm: existsSync('/dev/kvm'),
      tsvirt: `${code.mtimeMs}:${code.size}`,
    };
  } catch {
    return null;
  }
}

function recordFile(question: string, binary: string): string {
  const name = createHash('sha256').update(binary).digest('hex').slice(0, 32);
  return join(capabilitiesCacheDir(), `${question}-${name}.json`);
}

function read<T>(file: string, want: Record<string, unknown>, valid: (v: unknown) => v is T): T | undefined {
  try {
    const rec = JSON.parse(readFileSync(file, 'utf8')) as { stamp?: unknown; value?: unknown };
    if (JSON.stringify(rec.stamp) !== JSON.stringify(want)) return undefined;
    return valid(rec.value) ? rec.value : undefined;
  } catch {
    return undefined;
  }
}

function write(file: string, want: Record<string, unknown>, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, JSON.stringify({ stamp: want, value }), { mode: 0o600 });
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

/**
 * `probe()`'s answer to `question` about `binary`, from the disk when a current record holds
 * one that `valid` accepts, else probed and recorded. A failed probe records nothing.
 */
export async function persisted<T>(question: string, binary: string, valid: (v: unknown) => v is T, probe: () => Promise<T>): Promise<T> {
  const want = stamp(binary);
  if (!want) return probe();
  const file = recordFile(question, binary);
  const hit = read(file, want, valid);
  if (hit !== undefined) return hit;
  const value = await probe();
  write(file, want, value);
  return value;
}

/**
 * The synchronous form of {@link persisted}, for probes that callers make synchronously (the
 * machine types asked while domain XML is parsed).
 */
export function persistedSync<T>(question: string, binary: string, valid: (v: unknown) => v is T, probe: () => T): T {
  const want = stamp(binary);
  if (!want) return probe();
  const file = recordFile(question, binary);
  const hit = read(file, want, valid);
  if (hit !== undefined) return hit;
  const value = probe();
  write(file, want, value);
  return value;
}

/** True for an array of strings (a list of names in a record). */
export function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
