/**
 * virConnectGetDomainCapabilities for the QEMU driver: which emulator, machine type and
 * accelerator the four optional arguments pick (libvirt's defaults and error messages), then
 * what a guest of that kind can have. Each value listed is one tsvirt's command line turns into
 * QEMU arguments AND whose QEMU type the probed binary has; what the command line refuses
 * (firmware loaders, host devices, filesystems, TPM, ...) is reported unsupported.
 */
import { existsSync, statSync } from 'node:fs';
import { formatDomainCapabilitiesXML, type CapsBlock, type CapsEnum } from '../../conf/domain-capabilities-xml';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import { binaryCapabilities, qomTypesOf, type QemuBinaryCapabilities } from './capabilities';
import { defaultEmulator, EMULATORS } from './emulator';
import { hostArch, kvmUsable } from './host-capabilities';

/** libvirt's domain types (virDomainVirtType): other names are "unknown virttype". */
const VIRT_TYPES = new Set(['none', 'qemu', 'kqemu', 'kvm', 'xen', 'lxc', 'uml', 'openvz', 'test', 'vmware', 'hyperv', 'vbox', 'phyp', 'parallels', 'bhyve', 'vz']);

/** libvirt's architecture names (virArch): other names are "unknown architecture". */
const ARCHES = new Set([
  'i686', 'x86_64', 'aarch64', 'alpha', 'armv6l', 'armv7l', 'armv7b', 'cris', 'ia64', 'lm32', 'loongarch64', 'm68k',
  'microblaze', 'microblazeel', 'mips', 'mipsel', 'mips64', 'mips64el', 'openrisc', 'parisc', 'parisc64', 'ppc',
  'ppcle', 'ppc64', 'ppc64le', 'ppcemb', 'riscv32', 'riscv64', 's390', 's390x', 'sh4', 'sh4eb', 'sparc', 'sparc64',
  'unicore32', 'xtensa', 'xtensaeb',
]);

/** A value of an enum and the QEMU type it needs (none: built into every x86 machine). */
type Offer = readonly [value: string, qemuType?: string];

/** What the command line runs, per domcaps enum (see command-line/*.ts). */
const DISK_DEVICES: readonly Offer[] = [['disk'], ['cdrom', 'ide-cd']];
const DISK_BUSES: readonly Offer[] = [['ide', 'ide-hd'], ['scsi', 'scsi-hd'], ['virtio', 'virtio-blk-pci'], ['sata', 'ich9-ahci']];
const VIDEO_MODELS: readonly Offer[] = [['vga', 'VGA'], ['cirrus', 'cirrus-vga'], ['virtio', 'virtio-vga'], ['none']];
const RNG_MODELS: readonly Offer[] = [['virtio', 'virtio-rng-pci']];
const RNG_BACKENDS: readonly Offer[] = [['random', 'rng-random'], ['builtin', 'rng-builtin']];
const CHANNEL_TYPES: readonly Offer[] = [['pty'], ['unix'], ['file'], ['null']];
const RAM_SOURCES: readonly Offer[] = [['file', 'memory-backend-file'], ['anonymous', 'memory-backend-ram'], ['memfd', 'memory-backend-memfd']];

/**
 * QEMU CPU "models" that are not custom models: host and max are the host-passthrough and
 * maximum modes, base has no features at all. Versioned names (`Skylake-Client-v2`) are left out
 * as libvirt does: the plain name stands for its version 1.
 */
const NOT_CUSTOM_MODELS = new Set(['host', 'max', 'base']);

function invalidArg(detail: string): VirError {
  return VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.QEMU, detail);
}

/** The arguments after libvirt's defaulting. */
interface Resolved {
  emulator: string;
  arch: string;
  virttype: 'qemu' | 'kvm';
  machine: string;
  cpuMax: number;
  caps: QemuBinaryCapabilities;
}

async function resolve(emulatorbin: string | null, archArg: string | null, machineArg: string | null, virttypeName: string | null): Promise<Resolved> {
  if (virttypeName !== null && !VIRT_TYPES.has(virttypeName)) throw invalidArg(`unknown virttype: ${virttypeName}`);
  // 'none' is libvirt's "no type given".
  const virttypeArg = virttypeName === 'none' ? null : virttypeName;
  if (archArg !== null && !ARCHES.has(archArg)) throw invalidArg(`unknown architecture: ${archArg}`);
  const arch = archArg ?? hostArch();
  let emulator = emulatorbin;
  if (emulator === null) {
    emulator = arch in EMULATORS ? defaultEmulator(arch) : null;
    if (emulator === null || !existsSync(emulator)) {
      throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, `unable to find any emulator to serve '${arch}' architecture`);
    }
  } else {
    try {
      statSync(emulator);
    } catch (err) {
      throw VirError.system(ErrorDomain.QEMU, `Cannot check QEMU binary ${emulator}`, err);
    }
  }
  const caps = await binaryCapabilities(emulator);
  // An x86_64 emulator also runs 32-bit guests, as libvirt allows.
  if (caps.arch !== arch && !(caps.arch === 'x86_64' && arch === 'i686')) {
    throw invalidArg(`Emulator '${emulator}' does not support arch '${arch}'`);
  }
  // No virttype means the best accelerator there is; a named one must be usable. libvirt checks
  // every type other than kvm as TCG, hence its message names 'tcg' for them.
  const virttype = virttypeArg === 'kvm' || (virttypeArg === null && kvmUsable()) ? 'kvm' : 'qemu';
  if (virttype === 'kvm' && !kvmUsable()) throw invalidArg(`the accel 'kvm' is not supported by '${emulator}' on this host`);
  if (virttypeArg !== null && virttypeArg !== 'kvm' && virttypeArg !== 'qemu') {
    throw invalidArg(`the accel 'tcg' is not supported by '${emulator}' on this host`);
  }
  const wanted = machineArg ?? caps.machineTypes.find((m) => m.isDefault)?.name;
  // QEMU's `none` board exists only for probing; libvirt offers no guest on it.
  const machine = wanted === 'none' ? undefined : caps.machineTypes.find((m) => m.name === wanted || m.alias === wanted);
  if (!machine) throw invalidArg(`the machine '${wanted ?? ''}' is not supported by emulator '${emulator}'`);
  return { emulator, arch, virttype, machine: machine.name, cpuMax: machine.cpuMax, caps };
}

function offered(types: ReadonlySet<string>, name: string, offers: readonly Offer[]): CapsEnum {
  return { name, values: offers.filter(([, type]) => type === undefined || types.has(type)).map(([v]) => v) };
}

function device(name: string, enums: readonly CapsEnum[]): CapsBlock {
  return { name, supported: enums.every((e) => e.values.length > 0), enums };
}

const unsupported = (name: string): CapsBlock => ({ name, supported: false });

/**
 * virConnectGetDomainCapabilities: `<domainCapabilities>` for the emulator, architecture,
 * machine type and virtualization type given (each may be null: the host's architecture, its
 * emulator, the emulator's default machine, KVM when usable else TCG).
 */
export async function domainCapabilitiesXML(
  emulatorbin: string | null,
  arch: string | null,
  machine: string | null,
  virttype: string | null,
  flags: number,
): Promise<string> {
  checkFlags(flags, 0, 'qemuConnectGetDomainCapabilities', ErrorDomain.QEMU);
  const r = await resolve(emulatorbin, arch, machine, virttype);
  const { caps } = r;
  const types = new Set(await qomTypesOf(r.emulator));
  const kvm = r.virttype === 'kvm';
  const graphics = caps.commands.includes('query-vnc') ? ['vnc'] : [];
  return formatDomainCapabilitiesXML({
    path: r.emulator,
    domain: r.virttype,
    machine: r.machine,
    arch: r.arch,
    vcpuMax: r.cpuMax,
    iothreads: false,
    // Direct kernel boot only: <os><loader> and firmware selection are refused.
    os: { supported: true, enums: [{ name: 'firmware', values: [] }], loader: unsupported('loader') },
    cpu: {
      // The host CPU modes become `-cpu host`, which needs KVM.
      hostPassthrough: kvm,
      maximum: true,
      hostModel: kvm,
      customModels: caps.cpuModels.length ? caps.cpuModels.filter((m) => !NOT_CUSTOM_MODELS.has(m.name) && !/-v\d+$/.test(m.name)) : null,
    },
    memoryBacking: device('memoryBacking', [offered(types, 'sourceType', RAM_SOURCES)]),
    devices: [
      device('disk', [offered(types, 'diskDevice', DISK_DEVICES), offered(types, 'bus', DISK_BUSES)]),
      device('graphics', [{ name: 'type', values: graphics }]),
      device('video', [offered(types, 'modelType', VIDEO_MODELS)]),
      unsupported('hostdev'),
      device('rng', [offered(types, 'model', RNG_MODELS), offered(types, 'backendModel', RNG_BACKENDS)]),
      unsupported('filesystem'),
      unsupported('tpm'),
      unsupported('redirdev'),
      device('channel', [offered(types, 'type', CHANNEL_TYPES)]),
    ],
    features: ['gic', 'vmcoreinfo', 'genid', 'backingStoreInput', 'backup', 'sev', 'sgx', 'hyperv'].map(unsupported),
  });
}
