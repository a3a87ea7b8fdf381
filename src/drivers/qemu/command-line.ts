/**
 * Domain XML to QEMU command line for the subset tsvirt supports. Anything else in the XML is
 * refused with CONFIG_UNSUPPORTED naming the element, never silently dropped: a guest started
 * without a device its XML names would not be the guest the user defined.
 */
import { cloneDomainDef, type DomainDef } from '../../conf/domain-xml';
import { child, children, textOf, type XmlElement } from '../../conf/xml-tree';
import { emulatorFor, EMULATORS, firmwareArgs } from './emulator';
import { memoryBackendArgs, type RamFromFile } from './memory-backend';
import { escapeOptionValue as esc } from './qemu-option';
import { unsupported } from './command-line/args';
import { BootOrder } from './command-line/boot';
import { channelArgs, serialArgs } from './command-line/chardev';
import { controllerArgs, scsiModels } from './command-line/controllers';
import { audioArgs, balloonArgs, graphicsArgs, inputArgs, rngArgs, videoArgs, watchdogArgs } from './command-line/devices-misc';
import { checkDiskSources, diskArgs } from './command-line/disk';
import { accelOf, acpiOn, clockArgs, cpuArgs, lifecycleArgs, osArgs, smpArgs } from './command-line/machine';
import { netArgs } from './command-line/net';
import { pmArgs } from './command-line/pm';
import { applyQemuDefaults } from './domain-defaults';

// Callers that read <memoryBacking> through this module keep working; the code lives in memory-backend.ts.
export { EMULATORS } from './emulator';
export { hasSharedRamFile, parseMemoryBacking, ramBackendMatcher, type MemoryBacking } from './memory-backend';

/** What the command line needs besides the definition. */
export interface CommandLineContext {
  /** QMP monitor socket path. */
  monitorPath: string;
  /** Where file-backed guest RAM lives (memoryBacking source type='file'). */
  memoryDir: string;
  /** True when /dev/kvm can be used. */
  kvmAvailable: boolean;
  /** Where unix channels without a path get their sockets (runFiles().channels). */
  channelDir: string;
  /** `-incoming defer` for a restore. */
  incoming?: boolean;
  /**
   * The command line is for a QEMU about to start: check what must exist on the host first (disk
   * images), as libvirt does at start; false when only validating XML on define.
   */
  forLaunch?: boolean;
  /**
   * Instant restore: map guest RAM privately (copy-on-write) from this file instead of the
   * domain's own backend; the guest's writes never reach the file.
   */
  ramFromFile?: RamFromFile;
  /**
   * The emulator still takes `-no-acpi` (what libvirt 9.0 writes for QEMU 7.2). QEMU 9 removed
   * the option; ACPI is then switched off with the machine's `acpi=off`, to the same effect.
   * Probed per binary at launch (acceptsNoAcpiOption); `-no-acpi` when unknown.
   */
  noAcpiOption?: boolean;
}

/** The emulator binary and its arguments. */
export interface QemuCommand {
  emulator: string;
  args: string[];
}

/** Top-level elements that either map to the command line or carry nothing QEMU needs. */
const TOP_LEVEL = new Set([
  'name', 'uuid', 'title', 'description', 'metadata', 'memory', 'currentMemory', 'vcpu', 'os', 'cpu',
  'memoryBacking', 'features', 'clock', 'on_poweroff', 'on_reboot', 'on_crash', 'pm', 'devices', 'resource',
]);
/** `<devices>` children tsvirt runs. */
const DEVICES = new Set([
  'emulator', 'disk', 'controller', 'interface', 'serial', 'console', 'channel', 'input', 'graphics',
  'audio', 'video', 'watchdog', 'memballoon', 'rng',
]);

/**
 * libvirt writes `<resource><partition>/machine</partition>` (its default cgroup partition) into
 * every live XML, so every image libvirt saves carries it. tsvirt places guests in no cgroup:
 * the default is what a guest gets anyway, any other placement is refused rather than ignored.
 */
function checkResource(el: XmlElement): void {
  for (const c of children(el)) {
    const part = c.name === 'partition' ? textOf(c)?.trim() : undefined;
    if (part !== '/machine') {
      throw unsupported(c.name === 'partition' ? `resource partition '${part ?? ''}' is not supported (tsvirt places guests in no cgroup)` : `element <resource><${c.name}> is not supported by the QEMU driver`);
    }
  }
}

/** CONFIG_UNSUPPORTED naming the first element tsvirt does not run. */
function checkElements(def: DomainDef): void {
  for (const el of children(def.tree)) {
    if (!TOP_LEVEL.has(el.name)) throw unsupported(`element <${el.name}> is not supported by the QEMU driver`);
    if (el.name === 'resource') checkResource(el);
  }
  if (def.os.type !== 'hvm') throw unsupported(`os type '${def.os.type}' is not supported by the QEMU driver`);
  const arch = def.os.arch ?? 'x86_64';
  if (!(arch in EMULATORS)) throw unsupported(`architecture '${arch}' is not supported`);
  if (!(def.os.machine ?? 'pc').startsWith('pc-i440fx')) {
    throw unsupported(`machine type '${def.os.machine}' is not supported (tsvirt runs i440fx 'pc' machines)`);
  }
  const devs = child(def.tree, 'devices');
  for (const el of devs ? children(devs) : []) {
    if (!DEVICES.has(el.name)) throw unsupported(`device <${el.name}> is not supported by the QEMU driver`);
  }
}

/** `-m`: MiB as libvirt writes it, KiB when the size is not a whole number of MiB. */
function memoryArg(kib: number): string {
  return kib % 1024 === 0 ? String(kib / 1024) : `size=${kib}k`;
}

/**
 * Builds the command line for `def` with libvirt 9.0's device model: libvirt's defaults are
 * applied first (to a copy: machine type, implicit controllers, PCI addresses), then each
 * device becomes the `-device`/`-blockdev`/`-netdev` libvirt writes for it, in its order.
 * `domain type='qemu'` runs under TCG; `kvm` needs /dev/kvm (CONFIG_UNSUPPORTED otherwise).
 */
export function buildQemuCommand(input: DomainDef, ctx: CommandLineContext): QemuCommand {
  const def = applyQemuDefaults(cloneDomainDef(input));
  checkElements(def);
  const accel = accelOf(def, ctx.kvmAvailable);
  const emulator = emulatorFor(def);
  const devs = child(def.tree, 'devices');
  const boot = new BootOrder(def.tree);
  const backend = memoryBackendArgs(def, ctx);
  const acpi = acpiOn(def.tree);
  const acpiMachineOff = !acpi && ctx.noAcpiOption === false;
  const machineOpt = `${def.os.machine},usb=off,dump-guest-core=off${backend.length ? ',memory-backend=pc.ram' : ''}${acpiMachineOff ? ',acpi=off' : ''}`;
  const devices = [
    ...controllerArgs(devs),
    ...diskArgs(devs, { scsiModels: scsiModels(devs), boot }),
    ...netArgs(devs, boot),
    ...serialArgs(devs),
    ...channelArgs(devs, ctx.channelDir),
    ...inputArgs(devs),
    ...audioArgs(devs),
  ];
  const display = graphicsArgs(devs);
  const vnc = display[0] === '-vnc' ? display : [];
  const args = [
    '-name', `guest=${esc(def.name)},debug-threads=on`,
    '-S',
    '-machine', machineOpt,
    '-accel', accel,
    ...cpuArgs(def, accel),
    '-m', memoryArg(def.memory),
    ...backend,
    ...smpArgs(def),
    '-uuid', def.uuid,
    ...(vnc.length ? [] : display),
    '-no-user-config', '-nodefaults',
    '-qmp', `unix:${ctx.monitorPath},server=on,wait=off`,
    ...clockArgs(def.tree),
    ...lifecycleArgs(def),
    ...(acpi || acpiMachineOff ? [] : ['-no-acpi']),
    ...pmArgs(def.tree),
    ...osArgs(def.tree),
    ...firmwareArgs(emulator),
    ...devices,
    ...vnc,
    ...videoArgs(devs),
    ...watchdogArgs(devs),
    ...balloonArgs(devs),
    ...rngArgs(devs),
  ];
  if (ctx.forLaunch) checkDiskSources(devs);
  if (ctx.incoming) args.push('-incoming', 'defer');
  return { emulator, args };
}
