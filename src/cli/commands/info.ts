/**
 * Domain monitoring commands: list, dominfo, domstate, domid, domname, domuuid, dumpxml.
 */
import { DomainXMLFlags, ListAllDomainsFlags } from '../../public/flags';
import type { Connect } from '../../public/connect';
import type { Domain } from '../../public/domain';
import { ErrorCode } from '../../util/error-codes';
import { isVirError } from '../../util/vir-error';
import { formatTable, padRight, reasonName, stateName } from '../format';
import { optBool, type CommandDef } from '../types';
import { DOMAIN_OPT, domainOpt } from './common';

/** virsh's domain order for list: running domains by id, then inactive ones by name. */
function sortDomains(doms: Domain[]): Domain[] {
  return [...doms].sort((a, b) => {
    if (a.id !== -1 && b.id !== -1) return a.id - b.id;
    if (a.id !== -1) return -1;
    if (b.id !== -1) return 1;
    return a.name.localeCompare(b.name);
  });
}

const list: CommandDef = {
  name: 'list',
  group: 'monitor',
  help: 'list domains',
  desc: 'Returns list of domains.',
  opts: [
    { name: 'inactive', type: 'bool', help: 'list inactive domains' },
    { name: 'all', type: 'bool', help: 'list inactive & active domains' },
    { name: 'transient', type: 'bool', help: 'list transient domains' },
    { name: 'persistent', type: 'bool', help: 'list persistent domains' },
    // virsh's --with(out)-snapshot and --with(out)-checkpoint: no API in tsvirt yet.
    { name: 'state-running', type: 'bool', help: 'list domains in running state' },
    { name: 'state-paused', type: 'bool', help: 'list domains in paused state' },
    { name: 'state-shutoff', type: 'bool', help: 'list domains in shutoff state' },
    { name: 'state-other', type: 'bool', help: 'list domains in other states' },
    { name: 'with-managed-save', type: 'bool', help: 'list domains with managed save state' },
    { name: 'without-managed-save', type: 'bool', help: 'list domains without managed save' },
    { name: 'autostart', type: 'bool', help: 'list domains with autostart enabled' },
    { name: 'no-autostart', type: 'bool', help: 'list domains with autostart disabled' },
    { name: 'uuid', type: 'bool', help: "list uuid's only" },
    { name: 'name', type: 'bool', help: 'list domain names only' },
    { name: 'id', type: 'bool', help: 'list domain IDs only' },
    { name: 'table', type: 'bool', help: 'list table (default)' },
    { name: 'managed-save', type: 'bool', help: 'mark inactive domains with managed save state' },
    { name: 'title', type: 'bool', help: 'show domain title' },
  ],
  async handler(ctx, cmd) {
    const conn = await ctx.connection();
    let flags: number = ListAllDomainsFlags.ACTIVE;
    if (optBool(cmd, 'all')) flags = 0;
    else if (optBool(cmd, 'inactive')) flags = ListAllDomainsFlags.INACTIVE;
    for (const [opt, flag] of LIST_FILTERS) if (optBool(cmd, opt)) flags |= flag;
    const doms = sortDomains(await conn.listAllDomains(flags));
    const byUuid = optBool(cmd, 'uuid');
    const byName = optBool(cmd, 'name');
    const byId = optBool(cmd, 'id');
    if (byUuid || byName || byId) {
      for (const d of doms) {
        if (byId && !byUuid && !byName) {
          if (d.id !== -1) ctx.print(`${d.id}\n`);
          continue;
        }
        const fields: string[] = [];
        if (byId) fields.push(d.id === -1 ? '-' : String(d.id));
        if (byUuid) fields.push(d.uuid);
        if (byName) fields.push(d.name);
        ctx.print(`${fields.join(' ')}\n`);
      }
      return;
    }
    const rows: string[][] = [];
    const markSaved = optBool(cmd, 'managed-save');
    const title = optBool(cmd, 'title');
    for (const d of doms) {
      const st = await d.getState();
      let state = stateName(st.state);
      if (markSaved && d.id === -1 && (await d.hasManagedSaveImage().catch(() => false))) state = 'saved';
      const row = [d.id === -1 ? '-' : String(d.id), d.name, state];
      if (title) row.push(titleFromXml(await d.getXMLDesc().catch(() => '')));
      rows.push(row);
    }
    const header = title ? ['Id', 'Name', 'State', 'Title'] : ['Id', 'Name', 'State'];
    ctx.print(formatTable(ctx.quiet ? null : header, rows));
  },
};

/** list's filter options and the virConnectListAllDomains flags they add. */
const LIST_FILTERS: ReadonlyArray<readonly [string, number]> = [
  ['persistent', ListAllDomainsFlags.PERSISTENT],
  ['transient', ListAllDomainsFlags.TRANSIENT],
  ['state-running', ListAllDomainsFlags.RUNNING],
  ['state-paused', ListAllDomainsFlags.PAUSED],
  ['state-shutoff', ListAllDomainsFlags.SHUTOFF],
  ['state-other', ListAllDomainsFlags.OTHER],
  ['with-managed-save', ListAllDomainsFlags.MANAGEDSAVE],
  ['without-managed-save', ListAllDomainsFlags.NO_MANAGEDSAVE],
  ['autostart', ListAllDomainsFlags.AUTOSTART],
  ['no-autostart', ListAllDomainsFlags.NO_AUTOSTART],
];

/** The domain's <title>, as virsh shows it in list --title (empty when there is none). */
function titleFromXml(xml: string): string {
  return /<title>([^<]*)<\/title>/.exec(xml)?.[1] ?? '';
}

/** The guest OS type from the domain XML (virDomainGetOSType is not in tsvirt's API). */
function osTypeFromXml(xml: string): string | undefined {
  return /<os\b[^>]*>[\s\S]*?<type\b[^>]*>([^<]*)<\/type>/.exec(xml)?.[1]?.trim();
}

/**
 * dominfo's security lines as virsh prints them: nothing when the driver has no security model
 * API, model and DOI when a model is set, and the label when the domain has one. Any other
 * failure fails the command, as in virsh.
 */
async function securityLines(conn: Connect, dom: Domain, line: (label: string, value: string) => void): Promise<void> {
  let model;
  try {
    model = await conn.getSecurityModel();
  } catch (err) {
    if (isVirError(err) && err.code === ErrorCode.NO_SUPPORT) return;
    throw err;
  }
  if (model.model === '') return;
  line('Security model:', model.model);
  line('Security DOI:', model.doi);
  const label = await dom.getSecurityLabel();
  if (label.label !== '') line('Security label:', `${label.label} (${label.enforcing ? 'enforcing' : 'permissive'})`);
}

const dominfo: CommandDef = {
  name: 'dominfo',
  group: 'monitor',
  help: 'domain information',
  desc: 'Returns basic information about the domain.',
  opts: [DOMAIN_OPT],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd);
    const line = (label: string, value: string): void => ctx.print(`${padRight(label, 15)} ${value}\n`);
    const id = await dom.getID();
    line('Id:', id === -1 ? '-' : String(id));
    line('Name:', dom.name);
    line('UUID:', dom.uuid);
    const osType = osTypeFromXml(await dom.getXMLDesc().catch(() => ''));
    if (osType) line('OS Type:', osType);
    const info = await dom.getInfo();
    line('State:', stateName(info.state));
    line('CPU(s):', String(info.nrVirtCpu));
    if (info.cpuTime !== 0n) line('CPU time:', `${(Number(info.cpuTime) / 1e9).toFixed(1)}s`);
    line('Max memory:', `${info.maxMem} KiB`);
    line('Used memory:', `${info.memory} KiB`);
    const persistent = await dom.isPersistent().catch(() => undefined);
    line('Persistent:', persistent === undefined ? 'unknown' : persistent ? 'yes' : 'no');
    const autostart = await dom.getAutostart().catch(() => undefined);
    if (autostart !== undefined) line('Autostart:', autostart ? 'enable' : 'disable');
    const managed = await dom.hasManagedSaveImage().catch(() => undefined);
    if (managed !== undefined) line('Managed save:', managed ? 'yes' : 'no');
    await securityLines(await ctx.connection(), dom, line);
  },
};

const domstate: CommandDef = {
  name: 'domstate',
  group: 'monitor',
  help: 'domain state',
  desc: 'Returns state about a domain.',
  opts: [DOMAIN_OPT, { name: 'reason', type: 'bool', help: 'also print reason for the state' }],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd);
    const st = await dom.getState();
    if (optBool(cmd, 'reason')) ctx.print(`${stateName(st.state)} (${reasonName(st.state, st.reason)})\n`);
    else ctx.print(`${stateName(st.state)}\n`);
  },
};

const domid: CommandDef = {
  name: 'domid',
  group: 'domain',
  help: 'convert a domain name or UUID to domain id',
  opts: [domainOpt('domain name or uuid')],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd, { id: false });
    const id = await dom.getID();
    ctx.print(id === -1 ? '-\n' : `${id}\n`);
  },
};

const domname: CommandDef = {
  name: 'domname',
  group: 'domain',
  help: 'convert a domain id or UUID to domain name',
  opts: [domainOpt('domain id or uuid')],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd, { name: false });
    ctx.print(`${dom.name}\n`);
  },
};

const domuuid: CommandDef = {
  name: 'domuuid',
  group: 'domain',
  help: 'convert a domain name or id to domain UUID',
  opts: [domainOpt('domain id or name')],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd, { uuid: false });
    ctx.print(`${dom.uuid}\n`);
  },
};

const dumpxml: CommandDef = {
  name: 'dumpxml',
  group: 'domain',
  help: 'domain information in XML',
  desc: 'Output the domain information as an XML dump to stdout.',
  opts: [
    DOMAIN_OPT,
    { name: 'inactive', type: 'bool', help: 'show inactive defined XML' },
    { name: 'security-info', type: 'bool', help: 'include security sensitive information in XML dump' },
    { name: 'update-cpu', type: 'bool', help: 'update guest CPU according to host CPU' },
    { name: 'migratable', type: 'bool', help: 'provide XML suitable for migrations' },
  ],
  async handler(ctx, cmd) {
    const dom = await ctx.domain(cmd);
    let flags = 0;
    if (optBool(cmd, 'inactive')) flags |= DomainXMLFlags.INACTIVE;
    if (optBool(cmd, 'security-info')) flags |= DomainXMLFlags.SECURE;
    if (optBool(cmd, 'update-cpu')) flags |= DomainXMLFlags.UPDATE_CPU;
    if (optBool(cmd, 'migratable')) flags |= DomainXMLFlags.MIGRATABLE;
    const xml = await dom.getXMLDesc(flags);
    ctx.print(xml.endsWith('\n') ? xml : `${xml}\n`);
  },
};

/** The monitoring commands. */
export const infoCommands: readonly CommandDef[] = [list, dominfo, domstate, domid, domname, domuuid, dumpxml];
