/**
 * `<interface>` to `-netdev` (id `hostnetN`) and the NIC (id `netN`, its MAC and PCI address),
 * as libvirt 9.0 writes them.
 */
import { attr, child, children, type XmlElement } from '../../../conf/xml-tree';
import { deviceArg, jsonArg, pciProps, unsupported, type Props } from './args';
import type { BootOrder } from './boot';

/** NIC models and the QEMU device of each. */
const NIC_DEVICES: Record<string, string> = { virtio: 'virtio-net-pci', e1000: 'e1000', e1000e: 'e1000e', rtl8139: 'rtl8139' };

/** libvirt's NIC model for x86 guests when `<model>` is absent. */
export const DEFAULT_NIC_MODEL = 'rtl8139';

/** The host side of an interface. */
function netdevProps(nic: XmlElement, id: string): Props {
  const type = attr(nic, 'type') ?? '';
  if (type === 'user') return { type: 'user', id };
  throw unsupported(`interface type '${type}' is not supported`);
}

/** The arguments of all `<interface>`s of `devs`. */
export function netArgs(devs: XmlElement | undefined, boot: BootOrder): string[] {
  const out: string[] = [];
  (devs ? children(devs, 'interface') : []).forEach((nic, i) => {
    const model = attr(child(nic, 'model'), 'type') ?? DEFAULT_NIC_MODEL;
    const driver = NIC_DEVICES[model];
    if (!driver) throw unsupported(`interface model '${model}' is not supported`);
    const netdev = `hostnet${i}`;
    out.push(...jsonArg('-netdev', netdevProps(nic, netdev)));
    out.push(...deviceArg({
      driver, netdev, id: `net${i}`, mac: attr(child(nic, 'mac'), 'address'), ...pciProps(nic, devs), bootindex: boot.indexOf(nic),
    }));
  });
  return out;
}
