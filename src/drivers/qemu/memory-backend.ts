/**
 * Guest RAM backends: how `<memoryBacking>` becomes QEMU's `memory-backend-*` object, and how
 * tsvirt recognises that backend again among a running QEMU's open files (region mode copies RAM
 * through /proc/PID/fd). One module, so the backend tsvirt creates and the one it looks for
 * never drift apart.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { DomainDef } from '../../conf/domain-xml';
import { attr, child, children } from '../../conf/xml-tree';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { escapeOptionValue as esc } from './qemu-option';

function unsupported(detail: string): VirError {
  return VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, detail);
}

/** `<memoryBacking>` as tsvirt understands it: where guest RAM lives and whether it is shared. */
export interface MemoryBacking {
  source: string;
  shared: boolean;
}

/** Reads `<memoryBacking>`; CONFIG_UNSUPPORTED for what tsvirt does not model. Undefined when absent. */
export function parseMemoryBacking(def: DomainDef): MemoryBacking | undefined {
  const mb = child(def.tree, 'memoryBacking');
  if (!mb) return undefined;
  let source = 'anonymous';
  let shared = false;
  for (const el of children(mb)) {
    if (el.name === 'source') source = attr(el, 'type') ?? 'anonymous';
    else if (el.name === 'access') shared = attr(el, 'mode') === 'shared';
    else throw unsupported(`element <memoryBacking/${el.name}> is not supported`);
  }
  return { source, shared };
}

/**
 * True when guest RAM sits in a shared memfd or file backend that another process can open
 * through /proc/PID/fd: what the region save layout copies from and restores into.
 */
export function hasSharedRamFile(def: DomainDef): boolean {
  const mb = parseMemoryBacking(def);
  return !!mb && mb.shared && (mb.source === 'memfd' || mb.source === 'file');
}

/** QEMU's name for the memfd of a `memory-backend-memfd` (its type name), as /proc shows it. */
const MEMFD_LINK = '/memfd:memory-backend-memfd (deleted)';
/** tmpfs, where shared "memfd" RAM lives as a named file (see sharedRamDir). */
const SHM = '/dev/shm';

/**
 * Where tsvirt puts the RAM of guests whose XML asks for shared memfd RAM: a tmpfs directory
 * of its own per run directory, or null without /dev/shm. Why not a memfd: QEMU's
 * `x-ignore-shared` skips only shared RAM backed by a *named file* on newer QEMUs (10.0 streams
 * a shared memfd in full, so a region save would write RAM twice), while every QEMU with the
 * capability skips a shared named file. A `memory-backend-file` whose mem-path is a directory
 * gets a file QEMU creates and unlinks at once: the same tmpfs pages as a memfd, nothing left
 * behind when QEMU exits, and the same "pc.ram" RAM block in the migration stream.
 */
export function sharedRamDir(memoryDir: string): string | null {
  try {
    if (!statSync(SHM).isDirectory()) return null;
  } catch {
    return null;
  }
  const tag = createHash('sha256').update(memoryDir).digest('hex').slice(0, 12);
  return join(SHM, `tsvirt-${process.getuid?.() ?? 0}-${tag}`);
}

/** Matches the unlinked file QEMU creates in `dir` for the "pc.ram" backend, as /proc shows it. */
function backingFileIn(dir: string): (linkTarget: string) => boolean {
  const prefix = `${dir.replace(/\/+$/, '')}/qemu_back_mem.pc.ram.`;
  return (t) => t.startsWith(prefix) && t.endsWith(' (deleted)') && !t.slice(prefix.length, -' (deleted)'.length).includes('/');
}

/**
 * Recognises, among a QEMU process's open files (/proc/PID/fd link targets), the RAM backend
 * tsvirt gave it for `def`: the unlinked file QEMU creates for the "pc.ram" backend in the
 * shared-RAM tmpfs dir (memfd source) or in `memoryDir` (file source); a memfd named after its
 * backend type for guests an earlier tsvirt started. Never by size: a raw disk of the guest's
 * RAM size is open in the same process. Null when RAM is in no backend tsvirt can open this way.
 */
export function ramBackendMatcher(def: DomainDef, memoryDir: string): ((linkTarget: string) => boolean) | null {
  if (!hasSharedRamFile(def)) return null;
  const mb = parseMemoryBacking(def)!;
  if (mb.source === 'file') return backingFileIn(memoryDir);
  const dir = sharedRamDir(memoryDir);
  const inShm = dir ? backingFileIn(dir) : () => false;
  return (t) => t === MEMFD_LINK || inShm(t);
}

/**
 * Guest RAM mapped privately (copy-on-write) from a file, for instant restore: the image itself
 * at `offset` where QEMU's memory-backend-file has that property, else a loop device.
 */
export interface RamFromFile {
  path: string;
  /** Byte offset of guest RAM in `path` (page aligned); 0 for a device that starts with it. */
  offset: number;
  /** Open the file read-only, mapping it writable-private (`readonly=on,rom=off`, QEMU 8.2+). */
  readOnly: boolean;
}

/** What the RAM backend needs from the command-line context. */
export interface MemoryBackendContext {
  /** Where file-backed guest RAM lives (memoryBacking source type='file'). */
  memoryDir: string;
  /** Instant restore: guest RAM mapped privately (copy-on-write) from this file. */
  ramFromFile?: RamFromFile;
  /** A QEMU is about to start: create the shared-RAM tmpfs dir (not when only validating XML). */
  forLaunch?: boolean;
}

function privateFileBackend(def: DomainDef, r: RamFromFile): string[] {
  const opts = [`memory-backend-file,id=pc.ram,size=${def.memory}K,mem-path=${esc(r.path)},share=off`];
  if (r.offset) opts.push(`offset=${r.offset}`);
  // The image must never be written: QEMU opens it O_RDONLY and still lets the guest write
  // its private copies.
  if (r.readOnly) opts.push('readonly=on', 'rom=off');
  return ['-object', opts.join(',')];
}

/**
 * The `-object memory-backend-*` arguments for guest RAM (none for plain anonymous RAM). The
 * machine option names the backend "pc.ram" when this returns anything. Creates the shared-RAM
 * tmpfs directory when the guest needs it.
 */
export function memoryBackendArgs(def: DomainDef, ctx: MemoryBackendContext): string[] {
  if (ctx.ramFromFile) return privateFileBackend(def, ctx.ramFromFile);
  const mb = parseMemoryBacking(def);
  if (!mb) return [];
  const { source, shared } = mb;
  const size = `${def.memory}K`;
  const share = `share=${shared ? 'on' : 'off'}`;
  // libvirt names the machine's RAM backend "pc.ram"; keeping it lets images move between them.
  if (source === 'memfd') {
    const dir = shared ? sharedRamDir(ctx.memoryDir) : null;
    if (!dir) return ['-object', `memory-backend-memfd,id=pc.ram,size=${size},${share}`];
    if (ctx.forLaunch) mkdirSync(dir, { recursive: true, mode: 0o700 });
    return ['-object', `memory-backend-file,id=pc.ram,size=${size},mem-path=${esc(dir)},share=on`];
  }
  if (source === 'file') {
    return ['-object', `memory-backend-file,id=pc.ram,size=${size},mem-path=${esc(ctx.memoryDir)},${share}`];
  }
  if (source === 'anonymous') return shared ? ['-object', `memory-backend-ram,id=pc.ram,size=${size},share=on`] : [];
  throw unsupported(`memory backing source type '${source}' is not supported`);
}
