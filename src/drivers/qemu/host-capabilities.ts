/**
 * virConnectGetCapabilities for the QEMU driver: the host, and per installed emulator the
 * machine types and domain types its probe reports (libvirt's layout: the default machine
 * first, each alias right after the type it names), with the guest features tsvirt's command
 * line honours.
 */
import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { formatCapabilitiesXML, type GuestCaps, type GuestFeatureCaps, type MachineCaps } from '../../conf/capabilities-xml';
import { moduleLogger } from '../../util/logger';
import { binaryCapabilities, type MachineType } from './capabilities';
import { defaultEmulator, EMULATORS } from './emulator';

const log = moduleLogger('qemu-capabilities');

/** The host's architecture in libvirt's spelling. */
export function hostArch(): string {
  return process.arch === 'x64' ? 'x86_64' : process.arch === 'ia32' ? 'i686' : process.arch;
}

/** True when guests of `type='kvm'` can run here. */
export function kvmUsable(): boolean {
  return existsSync('/dev/kvm');
}

/** The machine types with the default one first, its alias after each canonical type. */
export function orderedMachines(types: readonly MachineType[]): MachineCaps[] {
  // `none` (no board at all) is QEMU's probing machine, never a guest's: libvirt leaves it out.
  const real = types.filter((m) => m.name !== 'none');
  const sorted = [...real.filter((m) => m.isDefault), ...real.filter((m) => !m.isDefault)];
  const out: MachineCaps[] = [];
  for (const m of sorted) {
    const common = { maxCpus: m.cpuMax, ...(m.deprecated ? { deprecated: true } : {}) };
    out.push({ name: m.name, ...common });
    if (m.alias) out.push({ name: m.alias, canonical: m.name, ...common });
  }
  return out;
}

/**
 * What the command line does with `<features>`: ACPI can be switched off (`-no-acpi`), the APIC
 * is always there; CPU models are chosen (`<cpu>`) and devices carry their own boot order.
 * 32-bit guests may run with or without PAE.
 */
function guestFeatures(arch: string): GuestFeatureCaps[] {
  return [
    ...(arch === 'i686' ? [{ name: 'pae' }, { name: 'nonpae' }] : []),
    { name: 'acpi', default: 'on', toggle: true },
    { name: 'apic', default: 'on', toggle: false },
    { name: 'cpuselection' },
    { name: 'deviceboot' },
  ];
}

/** virConnectGetCapabilities: each emulator that is installed and answers its probe. */
export async function capabilitiesXML(): Promise<string> {
  const guests: GuestCaps[] = [];
  // In libvirt's architecture order, which puts i686 before x86_64.
  for (const arch of Object.keys(EMULATORS).sort()) {
    const emulator = defaultEmulator(arch);
    if (!existsSync(emulator)) continue;
    let machines: MachineCaps[];
    try {
      machines = orderedMachines((await binaryCapabilities(emulator)).machineTypes);
    } catch (err) {
      // libvirt leaves out a binary it cannot probe, and says why in its log.
      log.warn({ emulator, err: (err as Error).message }, 'emulator left out of the capabilities');
      continue;
    }
    guests.push({
      osType: 'hvm',
      arch,
      wordsize: arch === 'x86_64' ? 64 : 32,
      emulator,
      machines,
      domainTypes: kvmUsable() ? ['qemu', 'kvm'] : ['qemu'],
      features: guestFeatures(arch),
    });
  }
  return formatCapabilitiesXML({ arch: hostArch(), cpus: cpus().length, memoryKiB: Math.floor(totalmem() / 1024) }, guests);
}
