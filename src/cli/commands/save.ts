/**
 * Save and restore commands: save, restore, managedsave, managedsave-remove,
 * managedsave-dumpxml, managedsave-define, save-image-dumpxml, save-image-define. `save` picks the API as virsh 11 does: virDomainSave
 * with no flag and no XML, SaveFlags with flags or --xml, SaveParams as soon as a parameter
 * only SaveParams can carry (--parallel-channels, --image-format) is given.
 */
import path from 'node:path';
import { DomainXMLFlags } from '../../public/flags';
import { SaveRestoreFlags } from '../../public/save-flags';
import { TypedParamType, typedParam, type TypedParameter } from '../../util/typed-params';
import { exclusiveOpts, readTextFile, optInt, optStringReq } from '../options';
import { watchJob } from '../progress';
import { optBool, optString, type CommandDef, type CommandContext, type OptDef, type ParsedCommand } from '../types';
import { DOMAIN_OPT } from './common';

const PARALLEL_CHANNELS_OPT: OptDef = {
  name: 'parallel-channels',
  type: 'int',
  namedOnly: true,
  help: 'number of extra IO channels to use for parallel save',
};

/** Save/restore flags from whichever of their options `cmd` has. */
function commonFlags(cmd: ParsedCommand): number {
  let flags = 0;
  if (optBool(cmd, 'bypass-cache')) flags |= SaveRestoreFlags.BYPASS_CACHE;
  if (optBool(cmd, 'running')) flags |= SaveRestoreFlags.RUNNING;
  if (optBool(cmd, 'paused')) flags |= SaveRestoreFlags.PAUSED;
  if (optBool(cmd, 'parallel')) flags |= SaveRestoreFlags.PARALLEL;
  if (optBool(cmd, 'reset-nvram')) flags |= SaveRestoreFlags.RESET_NVRAM;
  return flags;
}

/** The replacement XML named by --xml, read from its file, or null. */
async function xmlOption(ctx: CommandContext, cmd: ParsedCommand): Promise<string | null> {
  const file = optStringReq(ctx, cmd, 'xml');
  return file === undefined ? null : readTextFile(ctx, file);
}

const save: CommandDef = {
  name: 'save',
  group: 'domain',
  help: 'save a domain state to a file',
  desc: 'Save the RAM state of a running domain.',
  opts: [
    DOMAIN_OPT,
    { name: 'file', type: 'data', help: 'where to save the data' },
    { name: 'bypass-cache', type: 'bool', help: 'avoid file system cache when saving' },
    { name: 'xml', type: 'string', help: 'filename containing updated XML for the target' },
    { name: 'running', type: 'bool', help: 'set domain to be running on restore' },
    { name: 'paused', type: 'bool', help: 'set domain to be paused on restore' },
    { name: 'verbose', type: 'bool', help: 'display the progress of save' },
    { name: 'parallel', type: 'bool', help: 'enable parallel save to files' },
    PARALLEL_CHANNELS_OPT,
    { name: 'parallel-compression', type: 'string', namedOnly: true, help: 'compression of the parallel channels (none, zlib, zstd)' },
    { name: 'parallel-mode', type: 'string', namedOnly: true, help: "parallel layout: 'files' (FILE, FILE.1..N) or 'region' (one file)" },
    { name: 'image-format', type: 'string', namedOnly: true, help: 'format of the save image file' },
  ],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd);
    const file = optString(cmd, 'file') ?? '';
    const channels = optInt(ctx, cmd, 'parallel-channels');
    const format = optStringReq(ctx, cmd, 'image-format');
    const compression = optStringReq(ctx, cmd, 'parallel-compression');
    const mode = optStringReq(ctx, cmd, 'parallel-mode');
    const dxml = await xmlOption(ctx, cmd);
    let flags = commonFlags(cmd);
    let op: () => Promise<void>;
    if (channels !== undefined || format !== undefined || compression !== undefined || mode !== undefined) {
      const params: TypedParameter[] = [typedParam('file', TypedParamType.STRING, file)];
      if (dxml !== null) params.push(typedParam('dxml', TypedParamType.STRING, dxml));
      if (format !== undefined) params.push(typedParam('image_format', TypedParamType.STRING, format));
      if (compression !== undefined) params.push(typedParam('parallel.compression', TypedParamType.STRING, compression));
      if (mode !== undefined) params.push(typedParam('parallel.mode', TypedParamType.STRING, mode));
      if (channels !== undefined) {
        params.push(typedParam('parallel.channels', TypedParamType.INT, channels));
        flags |= SaveRestoreFlags.PARALLEL;
      }
      op = () => dom.saveParams(params, flags);
    } else if (flags !== 0 || dxml !== null) {
      op = () => dom.saveFlags(file, dxml, flags);
    } else {
      op = () => dom.save(file);
    }
    await ctx.attempt(`Failed to save domain '${dom.name}' to ${file}`, () => watchJob(ctx, dom, 'Save', optBool(cmd, 'verbose'), op()));
    ctx.printExtra(`\nDomain '${dom.name}' saved to ${file}\n`);
  },
};

const restore: CommandDef = {
  name: 'restore',
  group: 'domain',
  help: 'restore a domain from a saved state in a file',
  desc: 'Restore a domain.',
  opts: [
    { name: 'file', type: 'data', help: 'the state to restore' },
    { name: 'bypass-cache', type: 'bool', help: 'avoid file system cache when restoring' },
    { name: 'xml', type: 'string', help: 'filename containing updated XML for the target' },
    { name: 'running', type: 'bool', help: 'restore domain into running state' },
    { name: 'paused', type: 'bool', help: 'restore domain into paused state' },
    { name: 'reset-nvram', type: 'bool', help: 're-initialize NVRAM from its pristine template' },
    { ...PARALLEL_CHANNELS_OPT, help: 'number of IO channels to use for parallel restore' },
  ],
  async handler(ctx, cmd) {
    const file = optString(cmd, 'file') ?? '';
    const channels = optInt(ctx, cmd, 'parallel-channels');
    const dxml = await xmlOption(ctx, cmd);
    let flags = commonFlags(cmd);
    const conn = await ctx.connection();
    let op: () => Promise<void>;
    if (channels !== undefined) {
      const params: TypedParameter[] = [typedParam('file', TypedParamType.STRING, file)];
      if (dxml !== null) params.push(typedParam('dxml', TypedParamType.STRING, dxml));
      params.push(typedParam('parallel.channels', TypedParamType.INT, channels));
      flags |= SaveRestoreFlags.PARALLEL;
      op = () => conn.restoreParams(params, flags);
    } else if (flags !== 0 || dxml !== null) {
      op = () => conn.restoreFlags(file, dxml, flags);
    } else {
      op = () => conn.restore(file);
    }
    await ctx.attempt(`Failed to restore domain from ${file}`, op);
    ctx.printExtra(`Domain restored from ${file}\n`);
  },
};

const managedsave: CommandDef = {
  name: 'managedsave',
  group: 'domain',
  help: 'managed save of a domain state',
  desc:
    'Save and destroy a running domain, so it can be restarted from\n' +
    "    the same state at a later time.  When the virsh 'start'\n" +
    '    command is next run for the domain, it will automatically\n' +
    '    be started from this saved state.',
  opts: [
    DOMAIN_OPT,
    { name: 'bypass-cache', type: 'bool', help: 'avoid file system cache when saving' },
    { name: 'running', type: 'bool', help: 'set domain to be running on next start' },
    { name: 'paused', type: 'bool', help: 'set domain to be paused on next start' },
    { name: 'verbose', type: 'bool', help: 'display the progress of save' },
  ],
  async handler(ctx, cmd) {
    const flags = commonFlags(cmd);
    const dom = await ctx.domain(cmd);
    await ctx.attempt(`Failed to save domain '${dom.name}' state`, () =>
      watchJob(ctx, dom, 'Managedsave', optBool(cmd, 'verbose'), dom.managedSave(flags)),
    );
    ctx.printExtra(`\nDomain '${dom.name}' state saved by libvirt\n`);
  },
};

const managedsaveRemove: CommandDef = {
  name: 'managedsave-remove',
  group: 'domain',
  help: 'Remove managed save of a domain',
  desc: 'Remove an existing managed save state file from a domain',
  opts: [DOMAIN_OPT],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd);
    const has = await ctx.attempt('Failed to check for domain managed save image', () => dom.hasManagedSaveImage());
    if (!has) {
      // virsh prints this one without a newline: the end-of-command newline completes it.
      ctx.printExtra(`Domain '${dom.name}' has no manage save image; removal skipped`);
      return;
    }
    await ctx.attempt(`Failed to remove managed save image for domain '${dom.name}'`, () => dom.managedSaveRemove());
    ctx.printExtra(`Removed managedsave image for domain '${dom.name}'`);
  },
};

const saveImageDumpxml: CommandDef = {
  name: 'save-image-dumpxml',
  group: 'domain',
  help: 'saved state domain information in XML',
  desc: 'Dump XML of domain information for a saved state file to stdout.',
  opts: [
    { name: 'file', type: 'data', help: 'saved state file to read' },
    { name: 'security-info', type: 'bool', help: 'include security sensitive information in XML dump' },
  ],
  async handler(ctx, cmd) {
    const file = optString(cmd, 'file') ?? '';
    const conn = await ctx.connection();
    const xml = await conn.saveImageGetXMLDesc(file, optBool(cmd, 'security-info') ? DomainXMLFlags.SECURE : 0);
    ctx.print(xml.endsWith('\n') ? xml : `${xml}\n`);
  },
};

const saveImageDefine: CommandDef = {
  name: 'save-image-define',
  group: 'domain',
  help: 'redefine the XML for a domain\'s saved state file',
  desc: 'Replace the domain XML associated with a saved state file',
  opts: [
    { name: 'file', type: 'data', help: 'saved state file to modify' },
    { name: 'xml', type: 'data', help: 'filename containing updated XML for the target' },
    { name: 'running', type: 'bool', help: 'set domain to be running on restore' },
    { name: 'paused', type: 'bool', help: 'set domain to be paused on restore' },
  ],
  async handler(ctx, cmd) {
    const file = optString(cmd, 'file') ?? '';
    const xml = await readTextFile(ctx, optString(cmd, 'xml') ?? '');
    const conn = await ctx.connection();
    await ctx.attempt(`Failed to update ${file}`, () => conn.saveImageDefineXML(file, xml, commonFlags(cmd)));
    ctx.printExtra(`State file ${file} updated.\n`);
  },
};

const managedsaveDumpxml: CommandDef = {
  name: 'managedsave-dumpxml',
  group: 'domain',
  help: 'Domain information of managed save state file in XML',
  desc: 'Dump XML of domain information for a managed save state file to stdout.',
  // virsh's --xpath/--wrap are left out, as on tsvirsh's other XML dumps.
  opts: [DOMAIN_OPT, { name: 'security-info', type: 'bool', help: 'include security sensitive information in XML dump' }],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd);
    const xml = await dom.managedSaveGetXMLDesc(optBool(cmd, 'security-info') ? DomainXMLFlags.SECURE : 0);
    ctx.print(xml.endsWith('\n') ? xml : `${xml}\n`);
  },
};

const managedsaveDefine: CommandDef = {
  name: 'managedsave-define',
  group: 'domain',
  help: "redefine the XML for a domain's managed save state file",
  desc: 'Replace the domain XML associated with a managed save state file',
  opts: [
    DOMAIN_OPT,
    { name: 'xml', type: 'data', help: 'filename containing updated XML for the target' },
    { name: 'running', type: 'bool', help: 'set domain to be running on start' },
    { name: 'paused', type: 'bool', help: 'set domain to be paused on start' },
  ],
  async handler(ctx, cmd) {
    exclusiveOpts(ctx, cmd, 'running', 'paused');
    // virsh reads the file before it looks the domain up.
    const xml = await readTextFile(ctx, optString(cmd, 'xml') ?? '');
    const dom = await ctx.domain(cmd);
    await ctx.attempt(`Failed to update ${dom.name} XML configuration`, () => dom.managedSaveDefineXML(xml, commonFlags(cmd)));
    ctx.printExtra(`Managed save state file of domain '${dom.name}' updated.\n`);
  },
};

const saveImageVerify: CommandDef = {
  name: 'save-image-verify',
  group: 'domain',
  help: 'check a saved state file without restoring it',
  desc: "Check a save image on this machine: libvirt's header, and the length and checksum of every file and region its manifest lists (FILE, FILE.1..N).",
  opts: [{ name: 'file', type: 'data', help: 'saved state file to check' }],
  async handler(ctx, cmd) {
    const file = path.resolve(optString(cmd, 'file') ?? '');
    // Loaded here: the image reader is only needed by this command.
    const { verifySaveImage } = await import('../../conf/save-image/verify');
    const report = await ctx.attempt(`Failed to verify save image ${file}`, () => verifySaveImage(file));
    const m = report.manifest;
    ctx.print(`Image:          ${report.path}\n`);
    ctx.print(`Format:         ${report.format}\n`);
    ctx.print(`State:          ${report.wasRunning ? 'running' : 'paused'}\n`);
    ctx.print(`Layout:         ${m ? `${m.mode}, ${m.channels} channel(s), compression ${m.compression}` : 'single stream (no checksums recorded)'}\n`);
    for (const p of report.pieces) {
      const what = p.channel === 0 ? 'main stream' : m?.mode === 'region' ? `region ${p.channel}` : `channel ${p.channel}`;
      ctx.print(`  ${what.padEnd(12)} ${p.path} @${p.offset} ${p.length} bytes${m ? ` ${p.algorithm ?? 'sha256'} ok` : ''}\n`);
    }
    ctx.printExtra(`\nSave image ${file} is ${m ? 'intact' : 'readable'}\n`);
  },
};

/** The save / restore commands. */
export const saveCommands: readonly CommandDef[] = [save, restore, managedsave, managedsaveRemove, managedsaveDumpxml, managedsaveDefine, saveImageDumpxml, saveImageDefine, saveImageVerify];
