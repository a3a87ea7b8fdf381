/**
 * The daemon side of every procedure declared with a driver mapping (`maps(...)` in the
 * procedure table): the wire arguments become the public call's arguments, the public result
 * becomes the reply. The public layer runs its usual checks (read-only, flags, schemas, paths),
 * so a call through tsvirtd behaves as the same call in-process.
 */
import { Connect } from '../public/connect';
import { Domain } from '../public/domain';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { VirError } from '../util/vir-error';
import type { DriverMapping, ProcedureDef } from '../remote/protocol/procedure';
import { PROCEDURE_TABLE } from '../remote/protocol/table';
import type { WireDomain } from '../remote/protocol/types';
import type { CallContext } from './context';

type Method = (...args: unknown[]) => Promise<unknown>;

/** Splits `domain.NAME` / `connect.NAME` and checks the method exists on the public class. */
function parseApi(proc: ProcedureDef, m: DriverMapping): { on: 'domain' | 'connect'; method: string } {
  const [on, method, extra] = m.api.split('.') as ['domain' | 'connect', string, string?];
  const proto = on === 'domain' ? Domain.prototype : on === 'connect' ? Connect.prototype : undefined;
  if (!proto || extra !== undefined || typeof (proto as unknown as Record<string, unknown>)[method] !== 'function') {
    throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `procedure ${proc.name} maps to unknown public method '${m.api}'`);
  }
  if (on === 'domain' && m.args[0] !== 'dom') {
    throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `procedure ${proc.name}: a domain method's first argument must be 'dom'`);
  }
  return { on, method };
}

// Checked when the daemon loads, so a mistyped declaration never reaches a client.
const APIS = new Map(PROCEDURE_TABLE.filter((p) => p.maps).map((p) => [p.name, parseApi(p, p.maps as DriverMapping)]));

/** Domain handles become their wire form; everything else is sent as the driver returned it. */
function toWire(v: unknown): unknown {
  if (v instanceof Domain) return v.ref;
  if (Array.isArray(v)) return v.map(toWire);
  return v;
}

/** Serves one call of a mapped procedure. */
export async function serveMapped(ctx: CallContext, proc: ProcedureDef, args: unknown): Promise<unknown> {
  const m = proc.maps as DriverMapping;
  const api = APIS.get(proc.name) as { on: 'domain' | 'connect'; method: string };
  const wire = (args ?? {}) as Record<string, unknown>;
  const values = m.args.map((a) => (typeof a === 'string' ? wire[a] : a.value));
  const target: object = api.on === 'domain' ? ctx.dom(wire.dom as WireDomain) : ctx.conn();
  const callArgs = api.on === 'domain' ? values.slice(1) : values;
  let result = toWire(await ((target as Record<string, Method>)[api.method]).apply(target, callArgs));
  // A domain method that returns nothing (create) answers with its handle, as the slot does.
  if (result === undefined && m.ret === 'dom' && target instanceof Domain) result = target.ref;
  if (m.ret === undefined) return undefined;
  return m.ret === '*' ? result : { [m.ret]: result };
}
