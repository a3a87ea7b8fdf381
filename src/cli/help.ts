/**
 * virsh's help output: the grouped command list, one group, or one command's manual page
 * (NAME, SYNOPSIS, DESCRIPTION, OPTIONS) derived from its option table.
 */
import { padRight } from './format';
import type { CommandDef, CommandGroup, OptDef } from './types';

/** Help groups in virsh's order, with their titles. */
export const GROUPS: ReadonlyArray<readonly [CommandGroup, string]> = [
  ['domain', 'Domain Management'],
  ['monitor', 'Domain Monitoring'],
  ['host', 'Host and Hypervisor'],
  ['virsh', 'Virsh itself'],
];

function synopsisPart(o: OptDef): string {
  switch (o.type) {
    case 'data':
      return `<${o.name}>`;
    case 'argv':
      return o.required ? `<${o.name}>...` : `[<${o.name}>]...`;
    case 'bool':
      return `[--${o.name}]`;
    default: {
      const s = `--${o.name} <${o.type === 'int' ? 'number' : 'string'}>`;
      return o.required ? s : `[${s}]`;
    }
  }
}

function optionLabel(o: OptDef): string {
  switch (o.type) {
    case 'data':
      return `[--${o.name}] <string>`;
    case 'argv':
      return `<${o.name}>`;
    case 'bool':
      return `--${o.name}`;
    default:
      return `--${o.name} <${o.type === 'int' ? 'number' : 'string'}>`;
  }
}

/** `help CMD`. */
export function commandHelp(def: CommandDef): string {
  let out = `  NAME\n    ${def.name} - ${def.help}\n\n`;
  out += `  SYNOPSIS\n    ${[def.name, ...def.opts.map(synopsisPart)].join(' ')}\n\n`;
  if (def.desc) out += `  DESCRIPTION\n    ${def.desc}\n\n`;
  if (def.opts.length > 0) {
    out += '  OPTIONS\n';
    for (const o of def.opts) out += `    ${padRight(optionLabel(o), 15)}  ${o.help}\n`;
    out += '\n';
  }
  return out;
}

/** One group's listing: its header then one line per command. */
export function groupHelp(commands: readonly CommandDef[], group: CommandGroup): string {
  const title = GROUPS.find(([g]) => g === group)?.[1] ?? group;
  let out = ` ${title} (help keyword '${group}'):\n`;
  const members = commands.filter((c) => c.group === group).sort((a, b) => a.name.localeCompare(b.name));
  for (const c of members) out += `    ${padRight(c.name, 30)} ${c.help}\n`;
  return out;
}

/** Plain `help`: every group. */
export function allHelp(commands: readonly CommandDef[]): string {
  let out = 'Grouped commands:\n\n';
  for (const [g] of GROUPS) out += `${groupHelp(commands, g)}\n`;
  return out;
}
