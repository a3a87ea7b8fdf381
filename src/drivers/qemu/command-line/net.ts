/**
 * `<interface>` to `-netdev` (id `hostnetN`) and the NIC (id `netN`, its MAC and PCI address),
 * as libvirt 9.0 writes them. `type='user'` is QEMU's user-mode network; `ethernet` and `bridge`
 * are a tap that QEMU opens by the name in `<target dev>` (tap-devices.ts names it before
 * start), without scripts, where libvirt passes the open tap as an fd: the guest's device is
 * the same either way. As libvirt opens it, the tap has virtio-net headers only for a virtio NIC.
 */
import { attr, child, children, type XmlElement } from '../../../conf/xml-tree';
import { deviceArg, jsonArg, pciProps, unsupported, type Props } from './args';
import type { BootOrder } from './boot';
import { ErrorCode, ErrorDomain } from '../../../util/error-codes';
import { VirError } from '../../../util/vir-error';

/** NIC models and the QEMU device of each. */
const NIC_DEVICES: Record<string, string> = { virtio: 'virtio-net-pci', e1000: 'e1000', e1000e: 'e1000e', rtl8139: 'rtl8139' };

/** libvirt's NIC model for x86 guests when `<model>` is absent. */
export const DEFAULT_NIC_MODEL = 'rtl8139';

/** The host side of an interface. */
function netdevProps(nic: XmlElement, id: string, model: string): Props {
  const type = attr(nic, 'type') ?? '';
  if (type === 'user') return { type: 'user', id };
  if (type === 'ethernet' || type === 'bridge') {
    if (type === 'bridge' && !child(nic, 'source')) {
      throw VirError.report(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, "interface type='bridge' requires a 'source' element");
    }
    if (type === 'bridge' && !attr(child(nic, 'source'), 'bridge')) {
      throw VirError.report(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, "No <source> 'bridge' attribute specified with <interface type='bridge'/>");
    }
    if (type === 'bridge' && attr(child(nic, 'target'), 'managed') === 'no') {
      throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN, "unmanaged target dev is not supported on interfaces of type 'bridge'");
    }
    const ifname = attr(child(nic, 'target'), 'dev');
    return { type: 'tap', id, ifname, script: ifname ? 'no' : undefined, downscript: ifname ? 'no' : undefined, vnet_hdr: model === 'virtio' };
  }
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
    out.push(...jsonArg('-netdev', netdevProps(nic, netdev, model)));
    out.push(...deviceArg({
      driver, netdev, id: `net${i}`, mac: attr(child(nic, 'mac'), 'address'), ...pciProps(nic, devs), bootindex: boot.indexOf(nic),
    }));
  });
  return out;
}
