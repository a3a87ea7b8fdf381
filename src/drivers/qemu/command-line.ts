/**
 * Domain XML to QEMU command line for the subset tsvirt supports. Anything else in the XML is
 * refused with CONFIG_UNSUPPORTED naming the element, never silently dropped: a guest started
 * without a device its XML names would not be the guest the user defined.
 */
import type { DomainDef } from '../../conf/domain-xml';
import { attr, child, children, type XmlElement } from '../../conf/xml-tree';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { emulatorFor, EMULATORS, firmwareArgs } from './emulator';
import { memoryBackendArgs, type RamFromFile } from './memory-backend';
import { escapeOptionValue as esc } from './qemu-option';

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
  /** `-incoming defer` for a restore. */
  incoming?: boolean;
  /**
   * Instant restore: map guest RAM privately (copy-on-write) from this file instead of the
   * domain's own backend; the guest's writes never reach the file.
   */
  ramFromFile?: RamFromFile;
}

/** The emulator binary and its arguments. */
export interface QemuCommand {
  emulator: string;
  args: string[];
}

/** Top-level elements that either map to the command line or carry nothing QEMU needs. */
const TOP_LEVEL = new Set([
  'name', 'uuid', 'title', 'description', 'metadata', 'memory', 'currentMemory', 'vcpu', 'os',
  'memoryBacking', 'features', 'clock', 'on_poweroff', 'on_reboot', 'on_crash', 'devices',
]);
/** `<features>` children that match what QEMU's x86 machines do by default. */
const DEFAULT_FEATURES = new Set(['acpi', 'apic', 'pae']);
function unsupported(detail: string): VirError {
  return VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, detail);
}


function checkOs(def: DomainDef): { arch: string; machine: string } {
  if (def.os.type !== 'hvm') throw unsupported(`os type '${def.os.type}' is not supported by the QEMU driver`);
  const arch = def.os.arch ?? 'x86_64';
  if (!(arch in EMULATORS)) throw unsupported(`architecture '${arch}' is not supported`);
  const os = child(def.tree, 'os');
  for (const el of os ? children(os) : []) {
    if (el.name === 'type') continue;
    if (el.name === 'boot' && ['hd', 'cdrom', 'network', 'fd'].includes(attr(el, 'dev') ?? '')) continue;
    throw unsupported(`element <os/${el.name}> is not supported`);
  }
  return { arch, machine: def.os.machine ?? 'pc' };
}

function diskArgs(el: XmlElement, index: number, machine: string): string[] {
  const type = attr(el, 'type') ?? 'file';
  const device = attr(el, 'device') ?? 'disk';
  if (type !== 'file') throw unsupported(`disk type '${type}' is not supported`);
  if (device !== 'disk') throw unsupported(`disk device '${device}' is not supported`);
  const file = attr(child(el, 'source'), 'file');
  if (!file) throw unsupported('disk without <source file=...> is not supported');
  const format = attr(child(el, 'driver'), 'type') ?? 'raw';
  if (format !== 'raw' && format !== 'qcow2') throw unsupported(`disk format '${format}' is not supported`);
  const target = child(el, 'target');
  const bus = attr(target, 'bus') ?? (attr(target, 'dev')?.startsWith('vd') ? 'virtio' : 'sata');
  const ro = child(el, 'readonly') ? ',read-only=on' : '';
  const id = `drive-disk${index}`;
  const drive = ['-blockdev', `driver=file,filename=${esc(file)},node-name=file-${index}${ro}`,
    '-blockdev', `driver=${format},file=file-${index},node-name=${id}${ro}`];
  if (bus === 'virtio') return [...drive, '-device', `virtio-blk-pci,drive=${id},id=virtio-disk${index}`];
  if (bus === 'sata') {
    // q35 has an AHCI controller built in (ide.N); on i440fx add one.
    const ctl = machine.includes('q35') ? 'ide' : 'sata0';
    const port = machine.includes('q35') ? `ide.${index}` : `sata0.${index}`;
    const add = machine.includes('q35') || index > 0 ? [] : ['-device', `ahci,id=${ctl}`];
    return [...drive, ...add, '-device', `ide-hd,bus=${port},drive=${id},id=sata0-0-${index}`];
  }
  if (bus === 'ide' && !machine.includes('q35')) {
    return [...drive, '-device', `ide-hd,bus=ide.${Math.floor(index / 2)},unit=${index % 2},drive=${id},id=ide0-0-${index}`];
  }
  throw unsupported(`disk bus '${bus}' is not supported`);
}

function chardevArgs(el: XmlElement, id: string): string[] {
  const type = attr(el, 'type') ?? 'pty';
  const src = child(el, 'source');
  if (type === 'pty') return ['-chardev', `pty,id=${id}`];
  if (type === 'null') return ['-chardev', `null,id=${id}`];
  if (type === 'file') {
    const path = attr(src, 'path');
    if (!path) throw unsupported(`${el.name} of type 'file' needs <source path=...>`);
    return ['-chardev', `file,id=${id},path=${esc(path)}`];
  }
  if (type === 'unix') {
    const path = attr(src, 'path');
    if (!path) throw unsupported(`${el.name} of type 'unix' needs <source path=...>`);
    const server = (attr(src, 'mode') ?? 'bind') === 'bind' ? ',server=on,wait=off' : '';
    return ['-chardev', `socket,id=${id},path=${esc(path)}${server}`];
  }
  throw unsupported(`${el.name} type '${type}' is not supported`);
}

function deviceArgs(def: DomainDef, machine: string): { emulator: string; args: string[] } {
  const devs = child(def.tree, 'devices');
  const emulator = emulatorFor(def);
  const args: string[] = [];
  let disks = 0;
  let serials = 0;
  const consoles: XmlElement[] = [];
  for (const el of devs ? children(devs) : []) {
    switch (el.name) {
      case 'emulator': // chosen by emulatorFor
        break;
      case 'disk':
        args.push(...diskArgs(el, disks++, machine));
        break;
      case 'serial':
        args.push(...chardevArgs(el, `charserial${serials}`), '-device', `isa-serial,chardev=charserial${serials},id=serial${serials}`);
        serials++;
        break;
      case 'console':
        consoles.push(el);
        break;
      case 'memballoon': {
        const model = attr(el, 'model');
        if (model === 'virtio') args.push('-device', 'virtio-balloon-pci,id=balloon0');
        else if (model !== 'none') throw unsupported(`memballoon model '${model}' is not supported`);
        break;
      }
      default:
        throw unsupported(`device <${el.name}> is not supported by the QEMU driver`);
    }
  }
  // libvirt mirrors the first serial port as the console; a console alone becomes that port.
  for (const el of consoles) {
    const ttype = attr(child(el, 'target'), 'type') ?? 'serial';
    if (ttype !== 'serial') throw unsupported(`console target type '${ttype}' is not supported`);
    if (serials > 0) continue;
    args.push(...chardevArgs(el, 'charserial0'), '-device', 'isa-serial,chardev=charserial0,id=serial0');
    serials++;
  }
  return { emulator, args };
}

/**
 * Builds the command line for `def`. `domain type='qemu'` runs under TCG; `kvm` needs /dev/kvm
 * (CONFIG_UNSUPPORTED otherwise, as libvirt refuses it).
 */
export function buildQemuCommand(def: DomainDef, ctx: CommandLineContext): QemuCommand {
  for (const el of children(def.tree)) {
    if (!TOP_LEVEL.has(el.name)) throw unsupported(`element <${el.name}> is not supported by the QEMU driver`);
  }
  const features = child(def.tree, 'features');
  for (const el of features ? children(features) : []) {
    if (!DEFAULT_FEATURES.has(el.name)) throw unsupported(`feature <${el.name}> is not supported`);
  }
  let accel: string;
  if (def.type === 'qemu') accel = 'tcg';
  else if (def.type === 'kvm') {
    if (!ctx.kvmAvailable) throw unsupported('Domain requires KVM, but it is not available. Check that virtualization is enabled in the host BIOS, and host configuration is setup to load the kvm modules.');
    accel = 'kvm';
  } else {
    throw unsupported(`domain type '${def.type}' is not supported by the QEMU driver`);
  }
  const { machine } = checkOs(def);
  const backend = memoryBackendArgs(def, ctx);
  const machineOpt = `${machine},accel=${accel}${backend.length ? ',memory-backend=pc.ram' : ''}`;
  const devices = deviceArgs(def, machine);
  const args = [
    '-name', `guest=${esc(def.name)},debug-threads=on`,
    '-uuid', def.uuid,
    '-machine', machineOpt,
    '-m', `size=${def.memory}k`,
    ...backend,
    '-smp', String(def.vcpu),
    '-no-user-config', '-nodefaults',
    '-display', 'none',
    '-qmp', `unix:${ctx.monitorPath},server=on,wait=off`,
    '-S',
    ...firmwareArgs(devices.emulator),
    ...devices.args,
  ];
  if (ctx.incoming) args.push('-incoming', 'defer');
  return { emulator: devices.emulator, args };
}
