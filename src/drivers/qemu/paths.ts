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
export function runFiles(paths: QemuPaths, uuid: string): { status: string; lock: string; monitor: string; log: string; done: string; migration: string; shutoff: string; channels: string } {
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
    /**
     * The sockets of `<channel type='unix'>` devices the XML gives no path (libvirt's
     * channel/target/domain-N-NAME). Short: a UNIX socket path may not exceed 107 bytes.
     */
    channels: join(paths.runDir, `ch-${uuid.slice(0, 8)}`),
  };
}

/** The scratch files of a single-stream save's writer script (see the exec pipeline). */
export interface WriterScratch {
  /** Its exit status, written under `statusTmp` and renamed so a reader never sees half of it. */
  status: string;
  statusTmp: string;
  /** Its stderr. */
  err: string;
  /** The bash script QEMU runs. */
  script: string;
  /** The stream's SHA-256, written under `hashTmp` and renamed once complete. */
  hash: string;
  hashTmp: string;
  /** The script's pid, its first write: a writer still running at cleanup is stopped by it. */
  pid: string;
}

/**
 * The writer's scratch files beside `doneFile`. One place names them, so the script, the save's
 * cleanup and the next open after a dead saver use and remove the same files.
 */
export function writerScratch(doneFile: string): WriterScratch {
  return {
    status: doneFile,
    statusTmp: `${doneFile}.tmp`,
    err: `${doneFile}.err`,
    script: `${doneFile}.sh`,
    hash: `${doneFile}.sha256`,
    hashTmp: `${doneFile}.sha256.tmp`,
    pid: `${doneFile}.pid`,
  };
}

/** Every scratch file of {@link writerScratch}. */
export function writerScratchFiles(doneFile: string): string[] {
  return Object.values(writerScratch(doneFile));
}
