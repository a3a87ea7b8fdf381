/**
 * Host and hypervisor commands: uri, version, hostname.
 */
import { LIB_VERSION } from '../../index';
import { versionString } from '../format';
import type { CommandDef } from '../types';

const uri: CommandDef = {
  name: 'uri',
  group: 'host',
  help: 'print the hypervisor canonical URI',
  desc: 'Prints the hypervisor canonical URI.',
  opts: [],
  async handler(ctx) {
    const conn = await ctx.connection();
    ctx.print(`${await conn.getURI()}\n`);
  },
};

const hostname: CommandDef = {
  name: 'hostname',
  group: 'host',
  help: 'print the hypervisor hostname',
  opts: [],
  async handler(ctx) {
    const conn = await ctx.connection();
    ctx.print(`${await conn.getHostname()}\n`);
  },
};

const version: CommandDef = {
  name: 'version',
  group: 'host',
  help: 'show version',
  desc: 'Display the system version information.',
  opts: [{ name: 'daemon', type: 'bool', help: 'report daemon version too' }],
  async handler(ctx) {
    const conn = await ctx.connection();
    ctx.print(`Compiled against library: libvirt ${versionString(LIB_VERSION)}\n`);
    const lib = await ctx.attempt('failed to get the library version', () => conn.getLibVersion());
    ctx.print(`Using library: libvirt ${versionString(lib)}\n`);
    const type = await ctx.attempt('failed to get hypervisor type', () => conn.getType());
    ctx.print(`Using API: ${type} ${versionString(lib)}\n`);
    const hv = await ctx.attempt('failed to get the hypervisor version', () => conn.getVersion());
    if (hv === 0) {
      ctx.print(`Cannot extract running ${type} hypervisor version\n`);
      return;
    }
    ctx.print(`Running hypervisor: ${type} ${versionString(hv)}\n`);
  },
};

/** The host commands. */
export const hostCommands: readonly CommandDef[] = [uri, hostname, version];
