/**
 * virConnectGetDomainCapabilities' document (`<domainCapabilities>`): what a driver can run for
 * one emulator, architecture, machine type and virtualization type. Drivers fill in the
 * description; this module only writes libvirt's layout.
 */
import { escapeXml as esc } from './capabilities-xml';

/** `<enum name='...'>` with its `<value>`s (an empty enum says "none of these"). */
export interface CapsEnum {
  name: string;
  values: readonly string[];
}

/** An element with `supported='yes|no'` and its enums (a device, `<memoryBacking>`, `<loader>`). */
export interface CapsBlock {
  name: string;
  supported: boolean;
  enums?: readonly CapsEnum[];
}

/** One `<mode name='custom'>` CPU model. */
export interface CapsCpuModel {
  name: string;
  usable: boolean;
}

/** The whole document. */
export interface DomainCapsDoc {
  path: string;
  domain: string;
  machine?: string;
  arch: string;
  vcpuMax?: number;
  iothreads: boolean;
  os: { supported: boolean; enums: readonly CapsEnum[]; loader: CapsBlock };
  cpu: { hostPassthrough: boolean; maximum: boolean; hostModel: boolean; customModels: readonly CapsCpuModel[] | null };
  memoryBacking: CapsBlock;
  devices: readonly CapsBlock[];
  features: readonly CapsBlock[];
}

const yn = (b: boolean): string => (b ? 'yes' : 'no');

function enumLines(e: CapsEnum, indent: string): string[] {
  if (e.values.length === 0) return [`${indent}<enum name='${esc(e.name)}'/>`];
  return [`${indent}<enum name='${esc(e.name)}'>`, ...e.values.map((v) => `${indent}  <value>${esc(v)}</value>`), `${indent}</enum>`];
}

function blockLines(b: CapsBlock, indent: string): string[] {
  const open = `${indent}<${b.name} supported='${yn(b.supported)}'`;
  if (!b.supported || !b.enums?.length) return [`${open}/>`];
  return [`${open}>`, ...b.enums.flatMap((e) => enumLines(e, `${indent}  `)), `${indent}</${b.name}>`];
}

/** Formats the domain capabilities XML. */
export function formatDomainCapabilitiesXML(doc: DomainCapsDoc): string {
  const out = ['<domainCapabilities>', `  <path>${esc(doc.path)}</path>`, `  <domain>${esc(doc.domain)}</domain>`];
  if (doc.machine) out.push(`  <machine>${esc(doc.machine)}</machine>`);
  out.push(`  <arch>${esc(doc.arch)}</arch>`);
  if (doc.vcpuMax !== undefined) out.push(`  <vcpu max='${doc.vcpuMax}'/>`);
  out.push(`  <iothreads supported='${yn(doc.iothreads)}'/>`);
  if (!doc.os.supported) out.push("  <os supported='no'/>");
  else out.push("  <os supported='yes'>", ...doc.os.enums.flatMap((e) => enumLines(e, '    ')), ...blockLines(doc.os.loader, '    '), '  </os>');
  out.push('  <cpu>');
  out.push(`    <mode name='host-passthrough' supported='${yn(doc.cpu.hostPassthrough)}'/>`);
  out.push(`    <mode name='maximum' supported='${yn(doc.cpu.maximum)}'/>`);
  out.push(`    <mode name='host-model' supported='${yn(doc.cpu.hostModel)}'/>`);
  const models = doc.cpu.customModels;
  if (!models) out.push("    <mode name='custom' supported='no'/>");
  else out.push("    <mode name='custom' supported='yes'>", ...models.map((m) => `      <model usable='${yn(m.usable)}'>${esc(m.name)}</model>`), '    </mode>');
  out.push('  </cpu>');
  out.push(...blockLines(doc.memoryBacking, '  '));
  out.push('  <devices>', ...doc.devices.flatMap((d) => blockLines(d, '    ')), '  </devices>');
  out.push('  <features>', ...doc.features.flatMap((f) => blockLines(f, '    ')), '  </features>');
  out.push('</domainCapabilities>', '');
  return out.join('\n');
}
