/**
 * Daemon handlers of the domain procedures libvirt answers from what it already knows rather than
 * through one driver call (the rest are served from their declarations, see mapped-call.ts).
 */
import { parseDomainXML } from '../conf/domain-xml';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { VirError } from '../util/vir-error';
import type { HandlerTable } from './handler-types';

/** Handlers of the unmapped DOMAIN_* procedures. */
export const DOMAIN_HANDLERS: HandlerTable = {
  DOMAIN_GET_OS_TYPE: async (ctx, { dom }) => {
    const type = parseDomainXML(await ctx.dom(dom).getXMLDesc(0)).os.type;
    if (!type) throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.DOMAIN, `domain '${dom.name}' has no OS type`);
    return { type };
  },
  DOMAIN_GET_MESSAGES: async (ctx, { dom }) => {
    await ctx.dom(dom).getState(0);
    return { msgs: [] };
  },
};
