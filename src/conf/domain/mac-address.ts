/**
 * MAC addresses in domain XML: libvirt's parsing rules and its generated addresses
 * (QEMU/KVM's 52:54:00 prefix followed by three random bytes).
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';

/** The OUI libvirt uses for the guests of its QEMU driver. */
const QEMU_MAC_PREFIX = [0x52, 0x54, 0x00];

/**
 * Parses `aa:bb:cc:dd:ee:ff` (one or two hex digits per byte, as libvirt's virMacAddrParse) and
 * returns it in lower case with two digits per byte. XML_ERROR as libvirt for a malformed or a
 * multicast address.
 */
export function parseMacAddress(text: string): string {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw VirError.report(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, `unable to parse mac address '${text}'`);
  }
  const bytes = parts.map((p) => parseInt(p, 16));
  // Bit 0 of the first byte marks a group address: a NIC cannot own one.
  if (bytes[0] & 1) {
    throw VirError.report(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, `expected unicast mac address, found multicast '${text}'`);
  }
  return formatMac(bytes);
}

function formatMac(bytes: number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A new random address with the QEMU prefix, different from every address in `taken`. */
export function generateMacAddress(taken: ReadonlySet<string> = new Set()): string {
  for (;;) {
    const mac = formatMac([...QEMU_MAC_PREFIX, ...randomBytes(3)]);
    if (!taken.has(mac)) return mac;
  }
}
