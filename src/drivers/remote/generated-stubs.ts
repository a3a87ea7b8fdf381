/**
 * The remote driver's slots, made from the procedure table: every procedure declared with a
 * driver mapping (and not marked legacy) becomes the slot it names, sending its arguments in the
 * wire fields the declaration lists and returning the reply field it names. A new API therefore
 * needs no code here: its declaration is the client stub.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import type { DriverMapping, ProcedureDef } from '../../remote/protocol/procedure';
import { PROCEDURE_TABLE } from '../../remote/protocol/table';
import type { WireDomain } from '../../remote/protocol/types';
import type { RpcClient } from './rpc-client';

/** DomainRef fields only: a caller's object may carry more than the wire struct has. */
const wireRef = (d: WireDomain): WireDomain => ({ name: d.name, uuid: d.uuid, id: d.id });

function stub(proc: ProcedureDef, m: DriverMapping) {
  return async function (this: { readonly rpc: RpcClient }, ...a: unknown[]): Promise<unknown> {
    let wire: Record<string, unknown> | undefined;
    m.args.forEach((field, i) => {
      if (typeof field !== 'string') return;
      wire ??= {};
      wire[field] = field === 'dom' ? wireRef(a[i] as WireDomain) : a[i];
    });
    const r = (await this.rpc.call(proc, wire)) as Record<string, unknown> | undefined;
    if (m.ret === undefined) return undefined;
    return m.ret === '*' ? r : r?.[m.ret];
  };
}

/** The slots the table generates, by slot name. */
export const GENERATED_SLOTS: ReadonlyMap<string, ProcedureDef> = (() => {
  const out = new Map<string, ProcedureDef>();
  for (const p of PROCEDURE_TABLE) {
    if (!p.maps || p.maps.legacy) continue;
    // Two current procedures for one slot would make the client's choice arbitrary.
    if (out.has(p.maps.slot)) throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.REMOTE, `slot ${p.maps.slot} mapped twice`);
    out.set(p.maps.slot, p);
  }
  return out;
})();

/** Puts every generated slot on `proto` (the remote driver class's prototype). */
export function installGeneratedSlots(proto: object): void {
  for (const [slot, p] of GENERATED_SLOTS) {
    if (Object.prototype.hasOwnProperty.call(proto, slot)) {
      throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.REMOTE, `slot ${slot} is both generated and written by hand`);
    }
    Object.defineProperty(proto, slot, { value: stub(p, p.maps as DriverMapping), writable: true, configurable: true });
  }
}
