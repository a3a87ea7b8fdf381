/** The shape of the daemon's handler table, typed by the procedure table. */
import type { ProcArgs, ProcRet } from '../remote/protocol/procedure';
import type { REMOTE_PROCEDURES, RemoteProcedureName } from '../remote/protocol/table';
import type { CallContext } from './context';

/** Serves one procedure: decoded arguments in, the reply value out (or a thrown VirError). */
export type Handler<D> = (ctx: CallContext, args: ProcArgs<D>) => Promise<ProcRet<D>>;

/** Handlers by procedure name; the compiler checks each against its table entry. */
export type HandlerTable = { [K in RemoteProcedureName]?: Handler<(typeof REMOTE_PROCEDURES)[K]> };
