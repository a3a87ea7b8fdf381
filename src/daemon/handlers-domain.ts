/** Daemon handlers of domain procedures: each is one public API call on the client's Connect. */
import { parseDomainXML } from '../conf/domain-xml';
import type { JobInfo } from '../drivers/types';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { VirError } from '../util/vir-error';
import type { HandlerTable } from './handler-types';

const big = (n: number): bigint => BigInt(Math.max(0, Math.trunc(n)));

function jobInfoToWire(j: JobInfo) {
  return {
    type: j.type,
    timeElapsed: big(j.timeElapsed),
    timeRemaining: big(j.timeRemaining),
    dataTotal: big(j.dataTotal),
    dataProcessed: big(j.dataProcessed),
    dataRemaining: big(j.dataRemaining),
    memTotal: big(j.memTotal),
    memProcessed: big(j.memProcessed),
    memRemaining: big(j.memRemaining),
    fileTotal: big(j.fileTotal),
    fileProcessed: big(j.fileProcessed),
    fileRemaining: big(j.fileRemaining),
  };
}

/** Handlers of DOMAIN_* procedures. */
export const DOMAIN_HANDLERS: HandlerTable = {
  DOMAIN_LOOKUP_BY_NAME: async (ctx, { name }) => ({ dom: (await ctx.conn().lookupDomainByName(name)).ref }),
  DOMAIN_LOOKUP_BY_UUID: async (ctx, { uuid }) => ({ dom: (await ctx.conn().lookupDomainByUUID(uuid)).ref }),
  DOMAIN_LOOKUP_BY_ID: async (ctx, { id }) => ({ dom: (await ctx.conn().lookupDomainByID(id)).ref }),
  DOMAIN_DEFINE_XML: async (ctx, { xml }) => ({ dom: (await ctx.conn().defineXML(xml, 0)).ref }),
  DOMAIN_DEFINE_XML_FLAGS: async (ctx, { xml, flags }) => ({ dom: (await ctx.conn().defineXML(xml, flags)).ref }),
  DOMAIN_CREATE_XML: async (ctx, { xml_desc, flags }) => ({ dom: (await ctx.conn().createXML(xml_desc, flags)).ref }),
  DOMAIN_CREATE: async (ctx, { dom }) => ctx.dom(dom).create(0),
  DOMAIN_CREATE_WITH_FLAGS: async (ctx, { dom, flags }) => {
    const d = ctx.dom(dom);
    await d.create(flags);
    return { dom: d.ref };
  },
  DOMAIN_DESTROY: async (ctx, { dom }) => ctx.dom(dom).destroy(0),
  DOMAIN_DESTROY_FLAGS: async (ctx, { dom, flags }) => ctx.dom(dom).destroy(flags),
  DOMAIN_UNDEFINE: async (ctx, { dom }) => ctx.dom(dom).undefine(0),
  DOMAIN_UNDEFINE_FLAGS: async (ctx, { dom, flags }) => ctx.dom(dom).undefine(flags),
  DOMAIN_SUSPEND: async (ctx, { dom }) => ctx.dom(dom).suspend(),
  DOMAIN_RESUME: async (ctx, { dom }) => ctx.dom(dom).resume(),
  DOMAIN_GET_INFO: async (ctx, { dom }) => {
    const i = await ctx.dom(dom).getInfo();
    return { state: i.state, maxMem: big(i.maxMem), memory: big(i.memory), nrVirtCpu: i.nrVirtCpu, cpuTime: i.cpuTime };
  },
  DOMAIN_GET_STATE: async (ctx, { dom, flags }) => ctx.dom(dom).getState(flags),
  DOMAIN_GET_XML_DESC: async (ctx, { dom, flags }) => ({ xml: await ctx.dom(dom).getXMLDesc(flags) }),
  DOMAIN_GET_OS_TYPE: async (ctx, { dom }) => {
    const type = parseDomainXML(await ctx.dom(dom).getXMLDesc(0)).os.type;
    if (!type) throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.DOMAIN, `domain '${dom.name}' has no OS type`);
    return { type };
  },
  // tsvirt has no autostart: every domain reports it off, after the domain is checked to exist.
  DOMAIN_GET_AUTOSTART: async (ctx, { dom }) => {
    await ctx.dom(dom).getState(0);
    return { autostart: 0 };
  },
  DOMAIN_GET_SECURITY_LABEL: async (ctx, { dom }) => {
    await ctx.dom(dom).getState(0);
    return { label: '', enforcing: 0 };
  },
  DOMAIN_GET_MESSAGES: async (ctx, { dom }) => {
    await ctx.dom(dom).getState(0);
    return { msgs: [] };
  },
  DOMAIN_IS_ACTIVE: async (ctx, { dom }) => ({ active: (await ctx.dom(dom).isActive()) ? 1 : 0 }),
  DOMAIN_IS_PERSISTENT: async (ctx, { dom }) => ({ persistent: (await ctx.dom(dom).isPersistent()) ? 1 : 0 }),

  DOMAIN_SAVE: async (ctx, { dom, to }) => ctx.dom(dom).save(to),
  DOMAIN_SAVE_FLAGS: async (ctx, { dom, to, dxml, flags }) => ctx.dom(dom).saveFlags(to, dxml, flags),
  DOMAIN_SAVE_PARAMS: async (ctx, { dom, params, flags }) => ctx.dom(dom).saveParams(params, flags),
  DOMAIN_RESTORE: async (ctx, { from }) => ctx.conn().restore(from),
  DOMAIN_RESTORE_FLAGS: async (ctx, { from, dxml, flags }) => ctx.conn().restoreFlags(from, dxml, flags),
  DOMAIN_RESTORE_PARAMS: async (ctx, { params, flags }) => ctx.conn().restoreParams(params, flags),
  DOMAIN_SAVE_IMAGE_GET_XML_DESC: async (ctx, { file, flags }) => ({ xml: await ctx.conn().saveImageGetXMLDesc(file, flags) }),
  DOMAIN_SAVE_IMAGE_DEFINE_XML: async (ctx, { file, dxml, flags }) => ctx.conn().saveImageDefineXML(file, dxml, flags),
  DOMAIN_MANAGED_SAVE: async (ctx, { dom, flags }) => ctx.dom(dom).managedSave(flags),
  DOMAIN_HAS_MANAGED_SAVE_IMAGE: async (ctx, { dom, flags }) => ({ result: (await ctx.dom(dom).hasManagedSaveImage(flags)) ? 1 : 0 }),
  DOMAIN_MANAGED_SAVE_REMOVE: async (ctx, { dom, flags }) => ctx.dom(dom).managedSaveRemove(flags),
  DOMAIN_GET_JOB_INFO: async (ctx, { dom }) => jobInfoToWire(await ctx.dom(dom).getJobInfo()),
  DOMAIN_GET_JOB_STATS: async (ctx, { dom, flags }) => ctx.dom(dom).getJobStats(flags),
  DOMAIN_ABORT_JOB: async (ctx, { dom }) => ctx.dom(dom).abortJob(0),
  DOMAIN_ABORT_JOB_FLAGS: async (ctx, { dom, flags }) => ctx.dom(dom).abortJob(flags),
};
