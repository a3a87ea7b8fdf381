/**
 * The one remote procedure table: every REMOTE_PROC_* tsvirt speaks, by number and by name.
 * The daemon dispatches on it and the client encodes with it, so both sides share one truth.
 */
import { AUTH_PROCEDURES } from './procedures-auth';
import { CONNECT_PROCEDURES } from './procedures-connect';
import { DOMAIN_PROCEDURES } from './procedures-domain';
import { EVENT_PROCEDURES } from './procedures-events';
import { SAVE_JOB_PROCEDURES } from './procedures-save-job';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { ProcedureDef } from './procedure';

/** Every procedure, keyed by its REMOTE_PROC_* name (typed: `REMOTE_PROCEDURES.DOMAIN_SAVE.args`). */
export const REMOTE_PROCEDURES = {
  ...AUTH_PROCEDURES,
  ...CONNECT_PROCEDURES,
  ...DOMAIN_PROCEDURES,
  ...SAVE_JOB_PROCEDURES,
  ...EVENT_PROCEDURES,
} as const;

/** A procedure's name. */
export type RemoteProcedureName = keyof typeof REMOTE_PROCEDURES;

/** The table as a list ordered by procedure number. */
export const PROCEDURE_TABLE: readonly ProcedureDef[] = Object.freeze(
  Object.values(REMOTE_PROCEDURES).sort((a, b) => a.number - b.number) as ProcedureDef[],
);

const byNumber = new Map<number, ProcedureDef>();
for (const p of PROCEDURE_TABLE) {
  // A duplicate would silently shadow a procedure on dispatch: fail at load instead.
  if (byNumber.has(p.number)) throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `remote procedure ${p.number} defined twice`);
  byNumber.set(p.number, p);
}

/** The procedure with this number, or undefined (the daemon then answers VIR_ERR_RPC). */
export function procedureByNumber(number: number): ProcedureDef | undefined {
  return byNumber.get(number);
}

/** The procedure with this REMOTE_PROC_* name (without prefix), or undefined. */
export function procedureByName(name: string): ProcedureDef | undefined {
  return Object.prototype.hasOwnProperty.call(REMOTE_PROCEDURES, name)
    ? (REMOTE_PROCEDURES as Record<string, ProcedureDef>)[name]
    : undefined;
}
