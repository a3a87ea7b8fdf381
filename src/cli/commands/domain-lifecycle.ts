/**
 * Domain lifecycle commands: start, create, destroy, suspend, resume, define, undefine.
 */
import { CreateFlags, UndefineFlags } from '../../public/flags';
import type { Domain } from '../../public/domain';
import { ReportedError } from '../errors';
import { exclusiveOpts, readTextFile } from '../options';
import { optBool, optString, type CommandDef, type OptDef, type ParsedCommand } from '../types';
import { DOMAIN_OPT } from './common';

const start: CommandDef = {
  name: 'start',
  group: 'domain',
  help: 'start a (previously defined) inactive domain',
  desc: 'Start a domain, either from the last managedsave\n    state, or via a fresh boot if no managedsave state\n    is present.',
  opts: [
    { name: 'domain', type: 'data', help: 'name of the inactive domain' },
    { name: 'paused', type: 'bool', help: 'leave the guest paused after creation' },
    { name: 'autodestroy', type: 'bool', help: 'automatically destroy the guest when virsh disconnects' },
    { name: 'bypass-cache', type: 'bool', help: 'avoid file system cache when loading' },
    { name: 'force-boot', type: 'bool', help: 'force fresh boot by discarding any managed save' },
  ],
  async handler(ctx, cmd) {
    // virsh's start looks a domain up by name or UUID only: an id names a running domain.
    const dom = await ctx.domain(cmd, { id: false });
    if ((await dom.getID()) !== -1) {
      ctx.error('Domain is already active');
      throw new ReportedError();
    }
    let flags = 0;
    if (optBool(cmd, 'paused')) flags |= CreateFlags.START_PAUSED;
    if (optBool(cmd, 'autodestroy')) flags |= CreateFlags.START_AUTODESTROY;
    if (optBool(cmd, 'bypass-cache')) flags |= CreateFlags.START_BYPASS_CACHE;
    if (optBool(cmd, 'force-boot')) flags |= CreateFlags.START_FORCE_BOOT;
    await ctx.attempt(`Failed to start domain '${dom.name}'`, () => dom.create(flags));
    ctx.printExtra(`Domain '${dom.name}' started\n`);
  },
};

/** virDomainDestroyFlagsValues (no public constant yet; libvirt's values). */
const DESTROY_GRACEFUL = 1 << 0;
const DESTROY_REMOVE_LOGS = 1 << 1;

/** A command that runs one Domain method and reports virsh's success or failure line. */
function simple(name: string, help: string, desc: string, verb: string, failVerb: string, run: (d: Domain, cmd: ParsedCommand) => Promise<void>, extra: readonly OptDef[] = []): CommandDef {
  return {
    name,
    group: 'domain',
    help,
    desc,
    opts: [DOMAIN_OPT, ...extra],
    async handler(ctx, cmd) {
      const dom = await ctx.domain(cmd);
      await ctx.attempt(`Failed to ${failVerb} domain '${dom.name}'`, () => run(dom, cmd));
      ctx.printExtra(`Domain '${dom.name}' ${verb}\n`);
    },
  };
}

const destroy = simple(
  'destroy',
  'destroy (stop) a domain',
  'Forcefully stop a given domain, but leave its resources intact.',
  'destroyed',
  'destroy',
  (d, cmd) => d.destroy((optBool(cmd, 'graceful') ? DESTROY_GRACEFUL : 0) | (optBool(cmd, 'remove-logs') ? DESTROY_REMOVE_LOGS : 0)),
  [
    { name: 'graceful', type: 'bool', help: 'terminate gracefully' },
    { name: 'remove-logs', type: 'bool', help: 'remove domain logs' },
  ],
);
const suspend = simple('suspend', 'suspend a domain', 'Suspend a running domain.', 'suspended', 'suspend', (d) => d.suspend());
const resume = simple('resume', 'resume a domain', 'Resume a previously suspended domain.', 'resumed', 'resume', (d) => d.resume());

const define: CommandDef = {
  name: 'define',
  group: 'domain',
  help: "define (but don't start) a domain from an XML file",
  desc: 'Define a domain.',
  opts: [{ name: 'file', type: 'data', help: 'file containing an XML domain description' }],
  async handler(ctx, cmd) {
    const file = optString(cmd, 'file') ?? '';
    const xml = await readTextFile(ctx, file);
    const conn = await ctx.connection();
    const dom = await ctx.attempt(`Failed to define domain from ${file}`, () => conn.defineXML(xml));
    ctx.printExtra(`Domain '${dom.name}' defined from ${file}\n`);
  },
};

const create: CommandDef = {
  name: 'create',
  group: 'domain',
  help: 'create a domain from an XML file',
  desc: 'Create a domain.',
  // virsh's --console, --pass-fds, --validate and --reset-nvram have no API in tsvirt yet.
  opts: [
    { name: 'file', type: 'data', help: 'file containing an XML domain description' },
    { name: 'paused', type: 'bool', help: 'leave the guest paused after creation' },
    { name: 'autodestroy', type: 'bool', help: 'automatically destroy the guest when virsh disconnects' },
  ],
  async handler(ctx, cmd) {
    const file = optString(cmd, 'file') ?? '';
    const xml = await readTextFile(ctx, file);
    let flags = 0;
    if (optBool(cmd, 'paused')) flags |= CreateFlags.START_PAUSED;
    if (optBool(cmd, 'autodestroy')) flags |= CreateFlags.START_AUTODESTROY;
    const conn = await ctx.connection();
    const dom = await ctx.attempt(`Failed to create domain from ${file}`, () => conn.createXML(xml, flags));
    ctx.printExtra(`Domain '${dom.name}' created from ${file}\n`);
  },
};

const undefine: CommandDef = {
  name: 'undefine',
  group: 'domain',
  help: 'undefine a domain',
  desc: 'Undefine an inactive domain, or convert persistent to transient.',
  // virsh's storage and TPM options have no API in tsvirt yet.
  opts: [
    DOMAIN_OPT,
    { name: 'managed-save', type: 'bool', help: 'remove domain managed state file' },
    { name: 'snapshots-metadata', type: 'bool', help: 'remove all domain snapshot metadata (vm must be inactive)' },
    { name: 'nvram', type: 'bool', help: 'remove nvram file' },
    { name: 'keep-nvram', type: 'bool', help: 'keep nvram file' },
  ],
  async handler(ctx, cmd) {
    exclusiveOpts(ctx, cmd, 'nvram', 'keep-nvram');
    const dom = await ctx.domain(cmd);
    let flags = 0;
    if (optBool(cmd, 'managed-save')) flags |= UndefineFlags.MANAGED_SAVE;
    if (optBool(cmd, 'snapshots-metadata')) flags |= UndefineFlags.SNAPSHOTS_METADATA;
    if (optBool(cmd, 'nvram')) flags |= UndefineFlags.NVRAM;
    if (optBool(cmd, 'keep-nvram')) flags |= UndefineFlags.KEEP_NVRAM;
    await ctx.attempt(`Failed to undefine domain '${dom.name}'`, () => dom.undefine(flags));
    ctx.printExtra(`Domain '${dom.name}' has been undefined\n`);
  },
};

/** The lifecycle commands. */
export const lifecycleCommands: readonly CommandDef[] = [start, create, destroy, suspend, resume, define, undefine];
