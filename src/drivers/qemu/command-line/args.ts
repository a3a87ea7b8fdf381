/**
 * The argument forms the command line uses, as libvirt 9.0 writes them for QEMU 7.2: JSON for
 * `-device`, `-blockdev`, `-netdev`, `-object` and `-audiodev`, key=value (commas doubled) for
 * the rest, and the `bus`/`addr` pair of a device's PCI address.
 */
import { pciAddressOf } from '../../../conf/domain/pci-address';
import type { XmlElement } from '../../../conf/xml-tree';
import { ErrorCode, ErrorDomain } from '../../../util/error-codes';
import { VirError } from '../../../util/vir-error';

/** JSON property values. */
export type Props = Record<string, unknown>;

/** `[flag, JSON]`, with undefined properties left out. */
export function jsonArg(flag: string, props: Props): string[] {
  const clean = Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));
  return [flag, JSON.stringify(clean)];
}

/** A `-device` argument. */
export function deviceArg(props: Props): string[] {
  return jsonArg('-device', props);
}

/** QEMU's `-opt a=b,c=d` value escaping: commas are doubled. */
export function esc(value: string): string {
  return value.replace(/,/g, ',,');
}

/** `{bus: 'pci.0', addr: '0x3'}` (function as `0x1.0x2`) for the device's PCI address. */
export function pciProps(dev: XmlElement): Props {
  const a = pciAddressOf(dev);
  if (!a) return {};
  const addr = a.function ? `0x${a.slot.toString(16)}.0x${a.function.toString(16)}` : `0x${a.slot.toString(16)}`;
  return { bus: `pci.${a.bus}`, addr, multifunction: a.multifunction ? true : undefined };
}

/** CONFIG_UNSUPPORTED (QEMU domain), the error for XML tsvirt does not run. */
export function unsupported(detail: string): VirError {
  return VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, detail);
}
