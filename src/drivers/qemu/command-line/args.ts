/**
 * The argument forms the command line uses, as libvirt 9.0 writes them for QEMU 7.2: JSON for
 * `-device`, `-blockdev`, `-netdev`, `-object` and `-audiodev`, key=value (commas doubled) for
 * the rest, and the `bus`/`addr` pair of a device's PCI address.
 */
import { pciAddressOf } from '../../../conf/domain/pci-address';
import { attr, children, type XmlElement } from '../../../conf/xml-tree';
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

/**
 * QEMU's name of PCI bus `bus`, as libvirt names it: the root is `pcie.0` on a q35 machine
 * (pcie-root) and `pci.0` on i440fx; every other bus is the controller with that index, `pci.N`.
 */
export function pciBusName(devs: XmlElement | undefined, bus: number): string {
  if (bus !== 0) return `pci.${bus}`;
  const root = (devs ? children(devs, 'controller') : []).find((c) => attr(c, 'type') === 'pci' && attr(c, 'index') === '0');
  return attr(root, 'model') === 'pcie-root' ? 'pcie.0' : 'pci.0';
}

/**
 * `{bus: 'pci.0', addr: '0x3'}` (function as `0x1.0x2`) for the device's PCI address; `devs`
 * (the domain's `<devices>`) says what the root bus is called.
 */
export function pciProps(dev: XmlElement, devs: XmlElement | undefined): Props {
  const a = pciAddressOf(dev);
  if (!a) return {};
  const addr = a.function ? `0x${a.slot.toString(16)}.0x${a.function.toString(16)}` : `0x${a.slot.toString(16)}`;
  return { bus: pciBusName(devs, a.bus), addr, multifunction: a.multifunction ? true : undefined };
}

/** CONFIG_UNSUPPORTED (QEMU domain), the error for XML tsvirt does not run. */
export function unsupported(detail: string): VirError {
  return VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, detail);
}
