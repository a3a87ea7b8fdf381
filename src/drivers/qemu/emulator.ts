/**
 * Which QEMU binary runs a guest, and what it needs besides its arguments. libvirt takes the
 * binary from the domain's `<emulator>`; without one it uses the host's default per architecture.
 * tsvirt does the same, and `TSVIRT_QEMU` (read when a guest starts) names another default for
 * x86 guests, so a second QEMU unpacked beside the system one (scripts/setup-qemu10.sh) can run
 * the same tests.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DomainDef } from '../../conf/domain-xml';
import { child, children, textOf } from '../../conf/xml-tree';

/** The host's emulators per guest architecture (Debian's paths). */
export const EMULATORS: Record<string, string> = {
  x86_64: '/usr/bin/qemu-system-x86_64',
  i686: '/usr/bin/qemu-system-i386',
};

/** Binary names per architecture, looked up beside `TSVIRT_QEMU`. */
const BINARY_NAMES: Record<string, string> = {
  x86_64: 'qemu-system-x86_64',
  i686: 'qemu-system-i386',
};

/**
 * The emulator a guest of `arch` runs when its XML names none: `TSVIRT_QEMU`'s directory holds
 * the alternative QEMU's binaries (the variable names its qemu-system-x86_64), else the host's.
 */
export function defaultEmulator(arch: string, env: NodeJS.ProcessEnv = process.env): string {
  const override = env.TSVIRT_QEMU?.trim();
  if (override && BINARY_NAMES[arch]) {
    return basename(override) === BINARY_NAMES.x86_64 ? join(dirname(override), BINARY_NAMES[arch]) : override;
  }
  return EMULATORS[arch];
}

/**
 * `-L` options for a QEMU unpacked outside /usr (a `dpkg -x` tree: ROOT/usr/bin/qemu-system-*):
 * such a binary still looks for its ROMs in the system's /usr/share/qemu, which holds the other
 * QEMU's (possibly older) firmware; its own tree's firmware dirs come first. None for /usr/bin.
 */
export function firmwareArgs(emulator: string): string[] {
  const prefix = unpackedPrefix(emulator);
  if (!prefix) return [];
  const args: string[] = [];
  for (const dir of ['share/qemu', 'share/seabios']) {
    const p = join(prefix, dir);
    if (existsSync(p)) args.push('-L', p);
  }
  return args;
}

/** The install prefix of an emulator outside the system's (`PREFIX/bin/qemu-system-*`), if any. */
function unpackedPrefix(emulator: string): string | undefined {
  const bin = dirname(emulator);
  if (basename(bin) !== 'bin') return undefined;
  const prefix = dirname(bin);
  return prefix === '/usr' || prefix === '/' || prefix === '/usr/local' ? undefined : prefix;
}

/**
 * The environment an emulator runs with. An unpacked QEMU would load its device modules (display,
 * USB redirection, ...) from the system QEMU's module dir, whose modules it refuses (another
 * build), so devices that live in modules would be missing or the probe of all types fails;
 * QEMU_MODULE_DIR points it at its own tree's.
 */
export function emulatorEnv(emulator: string): NodeJS.ProcessEnv {
  const prefix = unpackedPrefix(emulator);
  const modules = prefix ? join(prefix, 'lib', 'x86_64-linux-gnu', 'qemu') : undefined;
  return modules && existsSync(modules) ? { ...process.env, QEMU_MODULE_DIR: modules } : process.env;
}

/**
 * The binary that runs `def`: its `<devices><emulator>` when it names one (as libvirt), else
 * {@link defaultEmulator} for its architecture.
 */
export function emulatorFor(def: DomainDef): string {
  const devs = child(def.tree, 'devices');
  const el = devs ? children(devs).find((e) => e.name === 'emulator') : undefined;
  const named = el ? (textOf(el) ?? '').trim() : '';
  return named || defaultEmulator(def.os.arch ?? 'x86_64');
}
