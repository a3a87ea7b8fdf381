/** Daemon handlers of the AUTH_* procedures: each is one step of the client's SessionAuth. */
import type { HandlerTable } from './handler-types';

/** Handlers of AUTH_LIST and the SASL exchange. */
export const AUTH_HANDLERS: HandlerTable = {
  AUTH_LIST: async (ctx) => ({ types: ctx.auth().list() }),
  AUTH_SASL_INIT: async (ctx) => ({ mechlist: ctx.auth().saslInit() }),
  AUTH_SASL_START: async (ctx, { mech, nil, data }) => {
    const r = ctx.auth().saslStart(mech, nil ? null : data);
    return { complete: r.complete ? 1 : 0, nil: 0, data: r.data };
  },
  AUTH_SASL_STEP: async (ctx, { nil, data }) => {
    const r = ctx.auth().saslStep(nil ? null : data);
    return { complete: r.complete ? 1 : 0, nil: 0, data: r.data };
  },
};
