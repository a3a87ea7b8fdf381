/** Daemon handlers of connection-level procedures. */
import { ListAllDomainsFlags } from '../public/flags';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { VirError } from '../util/vir-error';
import { DrvFeature, REMOTE_DOMAIN_LIST_MAX, REMOTE_STORAGE_POOL_LIST_MAX } from '../remote/protocol/constants';
import type { HandlerTable } from './handler-types';

/** VIR_DRV_FEATURE_REMOTE: the peer is a daemon. */
const DRV_FEATURE_REMOTE = 2;
const SUPPORTED_FEATURES = new Set<number>([
  DRV_FEATURE_REMOTE,
  DrvFeature.TYPED_PARAM_STRING,
  DrvFeature.PROGRAM_KEEPALIVE,
  DrvFeature.REMOTE_EVENT_CALLBACK,
  DrvFeature.REMOTE_CLOSE_CALLBACK,
]);

function checkMax(value: number, what: string): void {
  if (value > REMOTE_DOMAIN_LIST_MAX) {
    throw VirError.report(ErrorCode.RPC, ErrorDomain.RPC, `${what} > REMOTE_DOMAIN_LIST_MAX`);
  }
}

/** Handlers of CONNECT_* and NODE_* procedures. */
export const CONNECT_HANDLERS: HandlerTable = {
  CONNECT_SUPPORTS_FEATURE: async (ctx, { feature }) => {
    // libvirtd starts pinging a client only once it has asked about keepalive.
    if (feature === DrvFeature.PROGRAM_KEEPALIVE) ctx.startKeepalive();
    return { supported: SUPPORTED_FEATURES.has(feature) ? 1 : 0 };
  },
  CONNECT_OPEN: async (ctx, { name, flags }) => ctx.open(name, flags),
  CONNECT_CLOSE: async (ctx) => ctx.close(),
  CONNECT_GET_LIB_VERSION: async (ctx) => ({ lib_ver: await ctx.conn().getLibVersion() }),
  CONNECT_GET_URI: async (ctx) => ({ uri: await ctx.conn().getURI() }),
  CONNECT_IS_SECURE: async (ctx) => {
    ctx.conn();
    return { secure: ctx.isSecure() ? 1 : 0 };
  },
  CONNECT_LIST_ALL_DOMAINS: async (ctx, { need_results, flags }) => {
    const doms = await ctx.conn().listAllDomains(flags);
    const refs = doms.map((d) => d.ref);
    checkMax(refs.length, 'Too many domains');
    return { domains: need_results ? refs : [], ret: refs.length };
  },
  CONNECT_LIST_ALL_STORAGE_POOLS: async (ctx, { need_results, flags }) => {
    const pools = await ctx.conn().listAllStoragePools(flags);
    if (pools.length > REMOTE_STORAGE_POOL_LIST_MAX) throw VirError.report(ErrorCode.RPC, ErrorDomain.RPC, 'Too many storage pools');
    return { pools: need_results ? pools : [], ret: pools.length };
  },
  CONNECT_LIST_DOMAINS: async (ctx, { maxids }) => {
    checkMax(maxids, 'maxids');
    const doms = await ctx.conn().listAllDomains(ListAllDomainsFlags.ACTIVE);
    return { ids: doms.map((d) => d.id).slice(0, Math.max(0, maxids)) };
  },
  CONNECT_NUM_OF_DOMAINS: async (ctx) => ({ num: (await ctx.conn().listAllDomains(ListAllDomainsFlags.ACTIVE)).length }),
  CONNECT_LIST_DEFINED_DOMAINS: async (ctx, { maxnames }) => {
    checkMax(maxnames, 'maxnames');
    const doms = await ctx.conn().listAllDomains(ListAllDomainsFlags.INACTIVE);
    return { names: doms.map((d) => d.name).slice(0, Math.max(0, maxnames)) };
  },
  CONNECT_NUM_OF_DEFINED_DOMAINS: async (ctx) => ({ num: (await ctx.conn().listAllDomains(ListAllDomainsFlags.INACTIVE)).length }),
  // Close callbacks fire when the daemon drops the connection, which the client sees anyway.
  CONNECT_REGISTER_CLOSE_CALLBACK: async (ctx) => {
    ctx.conn();
  },
  CONNECT_UNREGISTER_CLOSE_CALLBACK: async (ctx) => {
    ctx.conn();
  },
  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: async (ctx, { eventID, dom }) => ({ callbackID: await ctx.registerEvent(eventID, dom) }),
  CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: async (ctx, { callbackID }) => ctx.deregisterEvent(callbackID),
};
