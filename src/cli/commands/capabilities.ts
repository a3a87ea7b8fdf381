/**
 * The capability documents: capabilities (the host and the guests it runs) and domcapabilities
 * (what a guest can have for one emulator, architecture, machine type and virtualization type).
 * virsh prints each document with a newline of its own after it.
 */
import { optStringReq } from '../options';
import type { CommandDef } from '../types';

const capabilities: CommandDef = {
  name: 'capabilities',
  group: 'host',
  help: 'capabilities',
  desc: 'Returns capabilities of hypervisor/driver.',
  opts: [],
  async handler(ctx) {
    const conn = await ctx.connection();
    const xml = await ctx.attempt('failed to get capabilities', () => conn.getCapabilities());
    ctx.print(`${xml}\n`);
  },
};

const domcapabilities: CommandDef = {
  name: 'domcapabilities',
  group: 'host',
  help: 'domain capabilities',
  desc: 'Returns capabilities of emulator with respect to host and libvirt.',
  opts: [
    { name: 'virttype', type: 'string', help: 'virtualization type (/domain/@type)' },
    { name: 'emulatorbin', type: 'string', help: 'path to emulator binary (/domain/devices/emulator)' },
    { name: 'arch', type: 'string', help: 'domain architecture (/domain/os/type/@arch)' },
    { name: 'machine', type: 'string', help: 'machine type (/domain/os/type/@machine)' },
  ],
  async handler(ctx, cmd) {
    const [virttype, emulatorbin, arch, machine] = ['virttype', 'emulatorbin', 'arch', 'machine'].map((o) => optStringReq(ctx, cmd, o) ?? null);
    const conn = await ctx.connection();
    const xml = await ctx.attempt('failed to get emulator capabilities', () => conn.getDomainCapabilities(emulatorbin, arch, machine, virttype, 0));
    ctx.print(`${xml}\n`);
  },
};

/** capabilities and domcapabilities. */
export const capabilityCommands: readonly CommandDef[] = [capabilities, domcapabilities];
