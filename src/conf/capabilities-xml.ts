/**
 * virConnectGetCapabilities' document: the host (arch, CPU topology, memory) and the guests a
 * driver can run (os type, arch, emulator, machine types, domain types, guest features).
 * Drivers describe what they found; this module only writes libvirt's layout.
 */

/** One `<machine>` of a guest: a machine type, or an alias naming its `canonical` type. */
export interface MachineCaps {
  name: string;
  canonical?: string;
  maxCpus?: number;
  deprecated?: boolean;
}

/** One guest `<features>` child: `<acpi default='on' toggle='yes'/>`, or a bare `<pae/>`. */
export interface GuestFeatureCaps {
  name: string;
  default?: 'on' | 'off';
  toggle?: boolean;
}

/** One guest architecture a driver runs. */
export interface GuestCaps {
  osType: string;
  arch: string;
  wordsize: number;
  emulator?: string;
  machines: readonly (string | MachineCaps)[];
  /** Domain types (`qemu`, `kvm`, `test`). */
  domainTypes: readonly string[];
  features?: readonly GuestFeatureCaps[];
}

/** What the host part says. */
export interface HostCaps {
  uuid?: string;
  arch: string;
  cpus: number;
  /** Host memory in KiB. */
  memoryKiB: number;
}

/** XML text and attribute escaping (single-quoted attributes, as libvirt writes them). */
export const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
const esc = escapeXml;

function machineLine(m: string | MachineCaps): string {
  if (typeof m === 'string') return `      <machine>${esc(m)}</machine>`;
  const attrs = [
    m.canonical !== undefined ? ` canonical='${esc(m.canonical)}'` : '',
    m.maxCpus !== undefined ? ` maxCpus='${m.maxCpus}'` : '',
    m.deprecated ? " deprecated='yes'" : '',
  ].join('');
  return `      <machine${attrs}>${esc(m.name)}</machine>`;
}

function featureLine(f: GuestFeatureCaps): string {
  const attrs = `${f.default ? ` default='${f.default}'` : ''}${f.toggle !== undefined ? ` toggle='${f.toggle ? 'yes' : 'no'}'` : ''}`;
  return `      <${f.name}${attrs}/>`;
}

/** Formats the capabilities XML. */
export function formatCapabilitiesXML(host: HostCaps, guests: readonly GuestCaps[]): string {
  const out = ['<capabilities>', '', '  <host>'];
  if (host.uuid) out.push(`    <uuid>${esc(host.uuid)}</uuid>`);
  out.push('    <cpu>', `      <arch>${esc(host.arch)}</arch>`, `      <topology sockets='1' dies='1' cores='${host.cpus}' threads='1'/>`, '    </cpu>');
  out.push('    <topology>', "      <cells num='1'>", "        <cell id='0'>", `          <memory unit='KiB'>${host.memoryKiB}</memory>`);
  out.push(`          <cpus num='${host.cpus}'>`);
  for (let i = 0; i < host.cpus; i++) out.push(`            <cpu id='${i}' socket_id='0' die_id='0' core_id='${i}' siblings='${i}'/>`);
  out.push('          </cpus>', '        </cell>', '      </cells>', '    </topology>', '  </host>');
  for (const g of guests) {
    out.push('', '  <guest>', `    <os_type>${esc(g.osType)}</os_type>`, `    <arch name='${esc(g.arch)}'>`, `      <wordsize>${g.wordsize}</wordsize>`);
    if (g.emulator) out.push(`      <emulator>${esc(g.emulator)}</emulator>`);
    for (const m of g.machines) out.push(machineLine(m));
    for (const t of g.domainTypes) out.push(`      <domain type='${esc(t)}'/>`);
    out.push('    </arch>');
    if (g.features?.length) out.push('    <features>', ...g.features.map(featureLine), '    </features>');
    out.push('  </guest>');
  }
  out.push('', '</capabilities>', '');
  return out.join('\n');
}
