/**
 * Where the QEMU driver keeps things. `qemu:///session` lives under the user's XDG directories
 * (read from the environment at open time, so tests can point them at a temp dir);
 * `qemu:///system` uses /var/lib/tsvirt and /run/tsvirt as libvirt uses /var/lib/libvirt.
 */
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** The directories of one driver instance. */
export interface QemuPaths {
  /** 'session' or 'system'. */
  readonly kind: 'session' | 'system';
  /** Persistent domain configs (NAME.xml). */
  readonly configDir: string;
  /** Managed save images (NAME.save). */
  readonly saveDir: string;
  /** Status files, locks, monitor sockets, logs of running guests. */
  readonly runDir: string;
}

/** Directories for `qemu:///session` from the XDG variables of `env`. */
export function sessionPaths(env: NodeJS.ProcessEnv = process.env): QemuPaths {
  const home = env.HOME || homedir();
  const config = env.XDG_CONFIG_HOME || join(home, '.config');
  const runtime = env.XDG_RUNTIME_DIR || join(tmpdir(), `tsvirt-run-${process.getuid?.() ?? 0}`);
  return {
    kind: 'session',
    configDir: join(config, 'tsvirt', 'qemu'),
    saveDir: join(config, 'tsvirt', 'qemu', 'save'),
    runDir: join(runtime, 'tsvirt', 'qemu'),
  };
}

/** Directories for `qemu:///system`. */
export function systemPaths(): QemuPaths {
  return {
    kind: 'system',
    configDir: '/etc/tsvirt/qemu',
    saveDir: '/var/lib/tsvirt/qemu/save',
    runDir: '/run/tsvirt/qemu',
  };
}

/** File names of one domain inside `runDir` (keyed by UUID: names may be long, sockets may not). */
export function runFiles(paths: QemuPaths, uuid: string): { status: string; lock: string; monitor: string; log: string; done: string; migration: string; shutoff: string } {
  const base = join(paths.runDir, uuid);
  return {
    status: `${base}.json`,
    lock: `${base}.lock`,
    monitor: `${base}.qmp`,
    log: `${base}.log`,
    done: `${base}.done`,
    /** UNIX socket of a multifd or x-ignore-shared migration. */
    migration: `${base}.mig`,
    /** Why an inactive persistent domain stopped (so `saved` survives the process). */
    shutoff: `${base}.shutoff`,
  };
}

/**
 * The scratch files of a single-stream save's writer script (see the exec pipeline): its exit
 * status (and the temp name it is written under), stderr, the script itself and the stream's
 * SHA-256. One list, so the save's cleanup and the next open after a dead saver remove the same.
 */
export function writerScratchFiles(doneFile: string): string[] {
  return [doneFile, `${doneFile}.tmp`, `${doneFile}.err`, `${doneFile}.sh`, `${doneFile}.sha256`, `${doneFile}.sha256.tmp`];
}
