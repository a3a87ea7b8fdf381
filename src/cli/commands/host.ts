/**
 * Host and hypervisor commands: uri, version, hostname, nodeinfo, connect.
 */
import { LIB_VERSION } from '../../public/connect';
import { padRight, versionString } from '../format';
import { optBool, type CommandDef } from '../types';
import { optStringReq } from '../options';

const uri: CommandDef = {
  name: 'uri',
  group: 'host',
  help: 'print the hypervisor canonical URI',
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

const nodeinfo: CommandDef = {
  name: 'nodeinfo',
  group: 'host',
  help: 'node information',
  desc: 'Returns basic information about the node.',
  opts: [],
  async handler(ctx) {
    const conn = await ctx.connection();
    const info = await ctx.attempt('failed to get node information', () => conn.getNodeInfo());
    const line = (label: string, value: string): void => ctx.print(`${padRight(label, 20)} ${value}\n`);
    line('CPU model:', info.model);
    line('CPU(s):', String(info.cpus));
    line('CPU frequency:', `${info.mhz} MHz`);
    line('CPU socket(s):', String(info.sockets));
    line('Core(s) per socket:', String(info.cores));
    line('Thread(s) per core:', String(info.threads));
    line('NUMA cell(s):', String(info.nodes));
    line('Memory size:', `${info.memory} KiB`);
  },
};

const connect: CommandDef = {
  name: 'connect',
  group: 'virsh',
  help: '(re)connect to hypervisor',
  desc: 'Connect to local hypervisor. This is built-in command after shell start up.',
  opts: [
    { name: 'name', type: 'string', help: 'hypervisor connection URI' },
    { name: 'readonly', type: 'bool', help: 'read-only connection' },
  ],
  async handler(ctx, cmd) {
    await ctx.reconnect(optStringReq(ctx, cmd, 'name'), optBool(cmd, 'readonly'));
  },
};

/** The host commands. */
export const hostCommands: readonly CommandDef[] = [uri, hostname, version, nodeinfo, connect];
