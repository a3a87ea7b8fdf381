/**
 * PCI addresses for a q35 guest, assigned the way libvirt's QEMU driver does. The root complex
 * (pcie.0) holds only built-ins and controllers: the host bridge at slot 0, the ICH9's LPC,
 * SATA (00:1f.2) and SMBus at slot 0x1f, the primary video card at slot 1. Every other device
 * gets a bus of its own: a PCIe device the next free pcie-root-port, a conventional PCI one
 * (rtl8139, e1000, i6300esb, lsilogic, UHCI/EHCI, extra AHCI) a slot of a pcie-to-pci-bridge.
 * Ports and the bridge are added as devices need them, in libvirt's device order; a domain that
 * had no PCI controllers of its own also gets one spare port (room for a hotplug). The ports go
 * on the root complex from the first free slot on, eight functions to a slot.
 */
import { pciAddressOf, PciAddressSet, type PciAddress } from '../../../conf/domain/pci-address';
import { attr, child, children, element, setAttr, type XmlElement } from '../../../conf/xml-tree';
import { unsupported } from '../command-line/args';
import { insertDevice } from '../../../conf/domain/device-order';
import { PCI_DEVICE_ORDER, isPciDevice, setPciAddress } from './pci-slots';

const ROOT_PORT = 'pcie-root-port';
const BRIDGE = 'pcie-to-pci-bridge';
/** Slots of a pcie-to-pci-bridge that devices may take (slot 0 is not hotpluggable there). */
const BRIDGE_FIRST_SLOT = 1;

/** True when the device is conventional PCI, which libvirt puts behind the pcie-to-pci-bridge. */
function isConventionalPci(dev: XmlElement): boolean {
  const model = attr(dev, 'model') ?? attr(child(dev, 'model'), 'type');
  switch (dev.name) {
    case 'interface':
      return model !== 'virtio' && model !== 'e1000e';
    case 'controller': {
      const type = attr(dev, 'type');
      if (type === 'usb') return model === 'piix3-uhci' || model === 'ehci';
      if (type === 'scsi') return model === 'lsilogic';
      return type === 'sata';
    }
    case 'watchdog':
      return true;
    default:
      return false;
  }
}

function pciControllers(devs: XmlElement): XmlElement[] {
  return children(devs, 'controller').filter((c) => attr(c, 'type') === 'pci');
}

/**
 * The buses behind the root complex and what is free on them. libvirt works in two passes: the
 * first counts the ports and bridges the devices need and adds them, the second gives every
 * controller and device its address; a bridge then takes the first free port, so it can end up
 * on a port the XML already had rather than on the one added for it.
 */
class Q35Buses {
  private readonly ports: number[] = [];
  private readonly bridges: number[] = [];
  private nextIndex: number;
  added = 0;

  /** `mayAdd`: the counting pass, which adds the controllers it runs short of. */
  constructor(private readonly devs: XmlElement, readonly used: PciAddressSet, private readonly mayAdd: boolean) {
    let max = 0;
    for (const c of pciControllers(devs)) {
      const index = Number(attr(c, 'index') ?? 0);
      const model = attr(c, 'model');
      max = Math.max(max, index);
      if (index === 0) {
        if (model !== 'pcie-root') throw unsupported(`PCI controller model '${model}' is not supported on a q35 machine`);
      } else if (model === ROOT_PORT) this.ports.push(index);
      else if (model === BRIDGE) this.bridges.push(index);
      else throw unsupported(`PCI controller model '${model}' is not supported on a q35 machine`);
    }
    this.nextIndex = max + 1;
    this.ports.sort((a, b) => a - b);
    this.bridges.sort((a, b) => a - b);
  }

  /** A new PCI controller: libvirt appends it after every other controller. */
  private addController(model: string): number {
    if (!this.mayAdd) throw unsupported('No more available PCI slots');
    const index = this.nextIndex++;
    insertDevice(this.devs, element('controller', [['type', 'pci'], ['index', String(index)], ['model', model]]));
    this.added++;
    return index;
  }

  /** A new pcie-root-port (its own address comes later, with the others'). */
  addPort(): void {
    this.ports.push(this.addController(ROOT_PORT));
  }

  /** Slot 0 of the first free root port, adding one when all are taken. */
  portSlot(): PciAddress {
    let free = this.ports.find((p) => !this.used.slotUsed(p, 0));
    if (free === undefined) {
      this.addPort();
      free = this.ports[this.ports.length - 1];
    }
    const a = { domain: 0, bus: free, slot: 0, function: 0 };
    this.used.claim(a);
    return a;
  }

  /** The next free slot of a pcie-to-pci-bridge, adding a root port and a bridge when none is left. */
  bridgeSlot(): PciAddress {
    for (const b of this.bridges) {
      for (let slot = BRIDGE_FIRST_SLOT; slot <= 0x1f; slot++) {
        if (this.used.slotUsed(b, slot)) continue;
        const a = { domain: 0, bus: b, slot, function: 0 };
        this.used.claim(a);
        return a;
      }
    }
    this.addPort();
    const bridge = this.addController(BRIDGE);
    this.bridges.push(bridge);
    this.bridgeOnPort(bridge);
    return this.bridgeSlot();
  }

  /** Puts bridge `index` on the first free root port. */
  private bridgeOnPort(index: number): void {
    const a = this.portSlot();
    const el = pciControllers(this.devs).find((c) => attr(c, 'index') === String(index));
    if (el && !this.mayAdd) setPciAddress(el, a);
  }

  /** Ports for the bridges the XML has without an address. */
  placeBridges(): void {
    for (const c of pciControllers(this.devs)) {
      if (attr(c, 'model') === BRIDGE && !child(c, 'address')) this.bridgeOnPort(Number(attr(c, 'index')));
    }
  }

  /** Addresses on the root complex for the ports that have none: functions of shared slots. */
  placePorts(): void {
    let slot = -1;
    let fn = 8;
    for (const c of pciControllers(this.devs).sort((a, b) => Number(attr(a, 'index')) - Number(attr(b, 'index')))) {
      if (attr(c, 'model') !== ROOT_PORT || child(c, 'address')) continue;
      if (fn > 7) {
        slot = this.firstFreeRootSlot(slot + 1);
        fn = 0;
      }
      const a = { domain: 0, bus: 0, slot, function: fn++ };
      this.used.claim(a);
      setPciAddress(c, a);
    }
    this.markMultifunction();
  }

  private firstFreeRootSlot(from: number): number {
    for (let slot = Math.max(from, 1); slot < 0x1f; slot++) if (!this.used.slotUsed(0, slot)) return slot;
    throw unsupported('No more available PCI slots on the PCIe root complex');
  }

  /** Function 0 of a root-complex slot whose other functions are used says multifunction='on'. */
  private markMultifunction(): void {
    for (const c of pciControllers(this.devs)) {
      const a = pciAddressOf(c);
      if (!a || a.bus !== 0 || a.function !== 0 || a.multifunction) continue;
      const shared = pciControllers(this.devs).some((o) => {
        const b = pciAddressOf(o);
        return o !== c && b !== undefined && b.bus === 0 && b.slot === a.slot;
      });
      if (shared) setPciAddress(c, { ...a, multifunction: true });
    }
  }
}

/** `<model name=...>` and a root port's `<target chassis= port=>`, as libvirt writes them. */
function describeControllers(devs: XmlElement): void {
  for (const c of pciControllers(devs)) {
    const model = attr(c, 'model');
    if (model !== ROOT_PORT && model !== BRIDGE) continue;
    const insert = (el: XmlElement) => {
      const addr = child(c, 'address');
      c.children.splice(addr ? c.children.indexOf(addr) : c.children.length, 0, el);
    };
    if (!child(c, 'model')) insert(element('model', [['name', model === ROOT_PORT ? 'pcie-root-port' : 'pcie-pci-bridge']]));
    if (model !== ROOT_PORT) continue;
    const a = pciAddressOf(c);
    let t = child(c, 'target');
    if (!t) {
      t = element('target');
      insert(t);
    }
    if (attr(t, 'chassis') === undefined) setAttr(t, 'chassis', attr(c, 'index') ?? '0');
    if (attr(t, 'port') === undefined && a) setAttr(t, 'port', `0x${((a.slot << 3) | a.function).toString(16)}`);
  }
}

/** Claims the XML's addresses and assigns the missing ones on a q35 machine. */
export function assignPcieAddresses(devs: XmlElement): void {
  const hadControllers = pciControllers(devs).some((c) => attr(c, 'index') !== '0');
  const used = new PciAddressSet();
  for (const slot of [{ slot: 0, function: 0 }, { slot: 0x1f, function: 0 }, { slot: 0x1f, function: 3 }]) {
    used.claim({ domain: 0, bus: 0, ...slot });
  }
  const sata0 = children(devs, 'controller').find((c) => attr(c, 'type') === 'sata' && attr(c, 'index') === '0');
  if (sata0 && !child(sata0, 'address')) setPciAddress(sata0, { domain: 0, bus: 0, slot: 0x1f, function: 2 });
  for (const dev of children(devs)) {
    const a = pciAddressOf(dev);
    if (a) used.claim(a);
  }
  const videos = children(devs, 'video').filter((v) => isPciDevice(v, true));
  if (videos[0] && !child(videos[0], 'address') && !used.slotUsed(0, 1)) {
    const a = { domain: 0, bus: 0, slot: 1, function: 0 };
    used.claim(a);
    setPciAddress(videos[0], a);
  }
  const pending = PCI_DEVICE_ORDER.flatMap((kind) => children(devs, kind).filter((d) => isPciDevice(d, true) && !child(d, 'address')));
  const plan = new Q35Buses(devs, used.clone(), true);
  plan.placeBridges();
  for (const dev of pending) {
    if (isConventionalPci(dev)) plan.bridgeSlot();
    else plan.portSlot();
  }
  // libvirt leaves a new q35 guest one free port, so that one device can be hotplugged.
  if (!hadControllers && plan.added > 0) plan.addPort();
  const buses = new Q35Buses(devs, used, false);
  buses.placeBridges();
  for (const dev of pending) setPciAddress(dev, isConventionalPci(dev) ? buses.bridgeSlot() : buses.portSlot());
  buses.placePorts();
  describeControllers(devs);
}
