/** Disk target names (`vda`, `sdb`, `hdc`, `sdaa`) and the index libvirt derives from them. */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';

const PREFIXES = ['fd', 'hd', 'vd', 'sd', 'xvd', 'ubd'];

/**
 * The disk's index from its target name, as libvirt's virDiskNameToIndex: the letters after the
 * bus prefix count in base 26 with `a` = 0 and `aa` = 26. XML_ERROR for a name it cannot read.
 */
export function diskNameToIndex(name: string): number {
  const prefix = PREFIXES.find((p) => name.startsWith(p));
  const rest = prefix ? name.slice(prefix.length) : '';
  if (!/^[a-z]+$/.test(rest)) {
    throw VirError.report(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, `Unknown disk name '${name}' and no address specified`);
  }
  let idx = 0;
  for (const ch of rest) idx = idx * 26 + (ch.charCodeAt(0) - 96);
  return idx - 1;
}
