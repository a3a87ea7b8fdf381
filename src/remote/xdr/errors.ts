import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';

/**
 * Builds the error every XDR failure raises. libvirt reports malformed or oversized payloads
 * as VIR_ERR_RPC in the RPC domain, and the daemon turns such an error into an ERROR reply
 * instead of dropping the connection, so the codec must never throw anything else.
 */
export function xdrError(detail: string): VirError {
  return VirError.report(ErrorCode.RPC, ErrorDomain.RPC, detail);
}
