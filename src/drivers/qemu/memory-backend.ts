/**
 * Guest RAM backends: how `<memoryBacking>` becomes QEMU's `memory-backend-*` object, and how
 * tsvirt recognises that backend again among a running QEMU's open files (region mode copies RAM
 * through /proc/PID/fd). One module, so the backend tsvirt creates and the one it looks for
 * never drift apart.
 */
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

/**
 * Recognises, among a QEMU process's open files (/proc/PID/fd link targets), the RAM backend
 * tsvirt gave it for `def`: the memfd QEMU names after its backend type, or the unlinked file
 * QEMU creates in `memoryDir` for the "pc.ram" backend. Never by size: a raw disk of the guest's
 * RAM size is open in the same process. Null when RAM is in no backend tsvirt can open this way.
 */
export function ramBackendMatcher(def: DomainDef, memoryDir: string): ((linkTarget: string) => boolean) | null {
  if (!hasSharedRamFile(def)) return null;
  const mb = parseMemoryBacking(def)!;
  if (mb.source === 'memfd') return (t) => t === MEMFD_LINK;
  const prefix = `${memoryDir.replace(/\/+$/, '')}/qemu_back_mem.pc.ram.`;
  return (t) => t.startsWith(prefix) && t.endsWith(' (deleted)') && !t.slice(prefix.length, -' (deleted)'.length).includes('/');
}

/** What the RAM backend needs from the command-line context. */
export interface MemoryBackendContext {
  /** Where file-backed guest RAM lives (memoryBacking source type='file'). */
  memoryDir: string;
  /** Instant restore: guest RAM mapped privately (copy-on-write) from this file. */
  ramFromFile?: string;
}

/**
 * The `-object memory-backend-*` arguments for guest RAM (none for plain anonymous RAM). The
 * machine option names the backend "pc.ram" when this returns anything.
 */
export function memoryBackendArgs(def: DomainDef, ctx: MemoryBackendContext): string[] {
  if (ctx.ramFromFile) return ['-object', `memory-backend-file,id=pc.ram,size=${def.memory}K,mem-path=${esc(ctx.ramFromFile)},share=off`];
  const mb = parseMemoryBacking(def);
  if (!mb) return [];
  const { source, shared } = mb;
  const size = `${def.memory}K`;
  const share = `share=${shared ? 'on' : 'off'}`;
  // libvirt names the machine's RAM backend "pc.ram"; keeping it lets images move between them.
  if (source === 'memfd') return ['-object', `memory-backend-memfd,id=pc.ram,size=${size},${share}`];
  if (source === 'file') {
    return ['-object', `memory-backend-file,id=pc.ram,size=${size},mem-path=${esc(ctx.memoryDir)},${share}`];
  }
  if (source === 'anonymous') return shared ? ['-object', `memory-backend-ram,id=pc.ram,size=${size},share=on`] : [];
  throw unsupported(`memory backing source type '${source}' is not supported`);
}
