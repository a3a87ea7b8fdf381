/** libvirt's virCheckFlags for drivers. */
import { ErrorCode, type ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';

/**
 * Rejects flag bits outside `supported` with INVALID_ARG "unsupported flags (0x..) in function
 * NAME", printing only the unknown bits as libvirt does.
 */
export function checkFlags(flags: number, supported: number, fnName: string, domain: ErrorDomain): void {
  const unknown = (flags & ~supported) >>> 0;
  if (unknown !== 0) {
    throw VirError.report(
      ErrorCode.INVALID_ARG,
      domain,
      `unsupported flags (0x${unknown.toString(16)}) in function ${fnName}`,
    );
  }
}
