/**
 * PCI addresses of domain XML devices (`<address type='pci' domain= bus= slot= function=>`):
 * parsing, formatting and the set of used addresses with libvirt's duplicate error.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { attr, child, element, type XmlElement } from '../xml-tree';

/** One PCI address. */
export interface PciAddress {
  domain: number;
  bus: number;
  slot: number;
  function: number;
  multifunction?: boolean;
}

function xmlError(detail: string): VirError {
  return VirError.report(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, detail);
}

function parseNumber(el: XmlElement, name: string, max: number): number {
  const text = attr(el, name);
  if (text === undefined) return 0;
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n > max) throw xmlError(`Invalid PCI address ${name} '${text}'`);
  return n;
}

/** The device's `<address type='pci'>`, or undefined when it has none (or another type). */
export function pciAddressOf(dev: XmlElement): PciAddress | undefined {
  const el = child(dev, 'address');
  if (!el || attr(el, 'type') !== 'pci') return undefined;
  return {
    domain: parseNumber(el, 'domain', 0xffff),
    bus: parseNumber(el, 'bus', 0xff),
    slot: parseNumber(el, 'slot', 0x1f),
    function: parseNumber(el, 'function', 7),
    multifunction: attr(el, 'multifunction') === 'on' ? true : undefined,
  };
}

function hex(n: number, width: number): string {
  return `0x${n.toString(16).padStart(width, '0')}`;
}

/** The `<address>` element libvirt writes for a PCI address. */
export function pciAddressElement(a: PciAddress): XmlElement {
  const attrs: Array<[string, string]> = [
    ['type', 'pci'], ['domain', hex(a.domain, 4)], ['bus', hex(a.bus, 2)], ['slot', hex(a.slot, 2)], ['function', hex(a.function, 1)],
  ];
  if (a.multifunction) attrs.push(['multifunction', 'on']);
  return element('address', attrs);
}

/** `0000:00:03.0`, as libvirt's messages spell an address. */
export function pciAddressText(a: PciAddress): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(a.domain, 4)}:${h(a.bus, 2)}:${h(a.slot, 2)}.${a.function}`;
}

/** The addresses a domain uses; a second claim of one is libvirt's "double use" error. */
export class PciAddressSet {
  private readonly used = new Set<string>();

  /** Claims `a`; XML_ERROR "Attempted double use of PCI Address ..." when already taken. */
  claim(a: PciAddress): void {
    const key = pciAddressText(a);
    if (this.used.has(key)) throw xmlError(`Attempted double use of PCI Address ${key}`);
    this.used.add(key);
  }

  /** A copy to plan with: claims in it leave this set as it is. */
  clone(): PciAddressSet {
    const copy = new PciAddressSet();
    for (const k of this.used) copy.used.add(k);
    return copy;
  }

  /** True when any function of bus/slot is taken. */
  slotUsed(bus: number, slot: number): boolean {
    const prefix = pciAddressText({ domain: 0, bus, slot, function: 0 }).slice(0, -1);
    for (const k of this.used) if (k.startsWith(prefix)) return true;
    return false;
  }

  /** Claims and returns the first free slot (function 0) on `bus` from `firstSlot` on. */
  next(bus: number, firstSlot: number): PciAddress {
    for (let slot = firstSlot; slot <= 0x1f; slot++) {
      if (this.slotUsed(bus, slot)) continue;
      const a = { domain: 0, bus, slot, function: 0 };
      this.claim(a);
      return a;
    }
    throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.DOMAIN, `No more available PCI slots on bus ${bus}`);
  }
}
