/**
 * The daemon's dispatch: procedures declared with a driver mapping are served generically
 * (mapped-call.ts); the handler tables here hold only what the session serves itself. A new
 * driver API needs no line here, only its declaration.
 */
import type { ProcedureDef } from '../remote/protocol/procedure';
import { AUTH_HANDLERS } from './handlers-auth';
import { CONNECT_HANDLERS } from './handlers-connect';
import { DOMAIN_HANDLERS } from './handlers-domain';
import type { Handler, HandlerTable } from './handler-types';
import { serveMapped } from './mapped-call';

/** Every handler, by procedure name. */
export const SERVER_HANDLERS: HandlerTable = { ...AUTH_HANDLERS, ...CONNECT_HANDLERS, ...DOMAIN_HANDLERS };

const mappedHandlers = new Map<string, Handler<ProcedureDef>>();

/**
 * The handler serving `proc`, if the daemon serves it: the generic one for procedures declared
 * with a driver mapping, else one of the session's own handlers (auth, open, events, the few
 * answers libvirt computes in the daemon).
 */
export function handlerFor(proc: ProcedureDef): Handler<ProcedureDef> | undefined {
  if (proc.kind !== 'call') return undefined;
  if (proc.maps) {
    let h = mappedHandlers.get(proc.name);
    if (!h) mappedHandlers.set(proc.name, (h = (ctx, args) => serveMapped(ctx, proc, args)));
    return h;
  }
  return (SERVER_HANDLERS as Record<string, Handler<ProcedureDef> | undefined>)[proc.name];
}

/** Procedures a client may call before CONNECT_OPEN, as libvirtd allows. */
export const BEFORE_OPEN = new Set(['AUTH_LIST', 'AUTH_SASL_INIT', 'AUTH_SASL_START', 'AUTH_SASL_STEP', 'CONNECT_SUPPORTS_FEATURE', 'CONNECT_OPEN']);

/** Procedures served before the client has authenticated. */
export const AUTH_PROCEDURE_NAMES = new Set(['AUTH_LIST', 'AUTH_SASL_INIT', 'AUTH_SASL_START', 'AUTH_SASL_STEP']);

/** Procedures that start a domain job the daemon aborts when it shuts down. */
export const JOB_PROCEDURES = new Set(['DOMAIN_SAVE', 'DOMAIN_SAVE_FLAGS', 'DOMAIN_SAVE_PARAMS', 'DOMAIN_MANAGED_SAVE']);
