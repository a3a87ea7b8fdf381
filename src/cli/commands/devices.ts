/**
 * Device listing commands: domblklist and domiflist. As in virsh, both read the domain XML
 * (live, or with --inactive the persistent definition) rather than calling a device API.
 */
import type { XmlElement } from '../../conf/xml-tree';
import { DomainXMLFlags } from '../../public/flags';
import { formatTable } from '../format';
import { optBool, type CommandContext, type CommandDef, type ParsedCommand } from '../types';
import { DOMAIN_OPT } from './common';

/** The devices element of the domain's XML (live, or persistent with --inactive). */
async function devicesOf(ctx: CommandContext, cmd: ParsedCommand): Promise<XmlElement[]> {
  const dom = await ctx.domain(cmd);
  const xml = await dom.getXMLDesc(optBool(cmd, 'inactive') ? DomainXMLFlags.INACTIVE : 0);
  const { parseXmlDocument, child } = xmlTree();
  const devices = child(parseXmlDocument(xml, 'domain'), 'devices');
  return devices ? [devices] : [];
}

/** The XML helpers, loaded by the commands that read XML rather than by every tsvirsh start. */
function xmlTree(): typeof import('../../conf/xml-tree') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../../conf/xml-tree') as typeof import('../../conf/xml-tree');
}

/** The first of `names` that `el` has as an attribute. */
function firstAttr(el: XmlElement | undefined, names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = xmlTree().attr(el, n);
    if (v !== undefined) return v;
  }
  return undefined;
}

const domblklist: CommandDef = {
  name: 'domblklist',
  group: 'monitor',
  help: 'list all domain blocks',
  desc: 'Get the summary of block devices for a domain.',
  opts: [
    DOMAIN_OPT,
    { name: 'inactive', type: 'bool', help: 'get inactive rather than running configuration' },
    { name: 'details', type: 'bool', help: 'additionally display the type and device value' },
  ],
  async handler(ctx, cmd) {
    const details = optBool(cmd, 'details');
    const rows: string[][] = [];
    const devs = await devicesOf(ctx, cmd);
    const { attr, child, children } = xmlTree();
    for (const devices of devs) {
      for (const disk of children(devices, 'disk')) {
        const target = attr(child(disk, 'target'), 'dev');
        // virsh skips a disk without a target: it has no name to list it by.
        if (target === undefined) continue;
        const source = firstAttr(child(disk, 'source'), ['file', 'dev', 'dir', 'name', 'volume']) ?? '-';
        rows.push(details ? [attr(disk, 'type') ?? '-', attr(disk, 'device') ?? 'disk', target, source] : [target, source]);
      }
    }
    const header = details ? ['Type', 'Device', 'Target', 'Source'] : ['Target', 'Source'];
    ctx.print(formatTable(ctx.quiet ? null : header, rows));
  },
};

const domiflist: CommandDef = {
  name: 'domiflist',
  group: 'monitor',
  help: 'list all domain virtual interfaces',
  desc: 'Get the summary of virtual interfaces for a domain.',
  opts: [DOMAIN_OPT, { name: 'inactive', type: 'bool', help: 'get inactive rather than running configuration' }],
  async handler(ctx, cmd) {
    const rows: string[][] = [];
    const devs = await devicesOf(ctx, cmd);
    const { attr, child, children } = xmlTree();
    for (const devices of devs) {
      for (const nic of children(devices, 'interface')) {
        rows.push([
          attr(child(nic, 'target'), 'dev') ?? '-',
          attr(nic, 'type') ?? '-',
          firstAttr(child(nic, 'source'), ['bridge', 'dev', 'network', 'name']) ?? '-',
          attr(child(nic, 'model'), 'type') ?? '-',
          attr(child(nic, 'mac'), 'address') ?? '-',
        ]);
      }
    }
    ctx.print(formatTable(ctx.quiet ? null : ['Interface', 'Type', 'Source', 'Model', 'MAC'], rows));
  },
};

/** The device listing commands. */
export const deviceCommands: readonly CommandDef[] = [domblklist, domiflist];
