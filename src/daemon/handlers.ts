/**
 * The daemon's dispatch table: one handler per procedure of the protocol table that a client
 * may call. A new procedure is its table entry, its driver slot, and one line here.
 */
import type { ProcedureDef } from '../remote/protocol/procedure';
import { AUTH_HANDLERS } from './handlers-auth';
import { CONNECT_HANDLERS } from './handlers-connect';
import { DOMAIN_HANDLERS } from './handlers-domain';
import type { Handler, HandlerTable } from './handler-types';

/** Every handler, by procedure name. */
export const SERVER_HANDLERS: HandlerTable = { ...AUTH_HANDLERS, ...CONNECT_HANDLERS, ...DOMAIN_HANDLERS };

/** The handler serving `proc`, if the daemon serves it. */
export function handlerFor(proc: ProcedureDef): Handler<ProcedureDef> | undefined {
  if (proc.kind !== 'call') return undefined;
  return (SERVER_HANDLERS as Record<string, Handler<ProcedureDef> | undefined>)[proc.name];
}

/** Procedures a client may call before CONNECT_OPEN, as libvirtd allows. */
export const BEFORE_OPEN = new Set(['AUTH_LIST', 'AUTH_SASL_INIT', 'AUTH_SASL_START', 'AUTH_SASL_STEP', 'CONNECT_SUPPORTS_FEATURE', 'CONNECT_OPEN']);

/** Procedures served before the client has authenticated. */
export const AUTH_PROCEDURE_NAMES = new Set(['AUTH_LIST', 'AUTH_SASL_INIT', 'AUTH_SASL_START', 'AUTH_SASL_STEP']);

/** Procedures that start a domain job the daemon aborts when it shuts down. */
export const JOB_PROCEDURES = new Set(['DOMAIN_SAVE', 'DOMAIN_SAVE_FLAGS', 'DOMAIN_SAVE_PARAMS', 'DOMAIN_MANAGED_SAVE']);
