/**
 * libvirt's defaults for the other devices of a QEMU guest on define: generated MAC addresses,
 * PS/2 inputs on x86, USB port addresses, the VNC listen element, `<audio type='none'/>`, video
 * model details and the virtio memballoon.
 */
import { generateMacAddress, parseMacAddress } from '../../../conf/domain/mac-address';
import { insertDevice } from '../../../conf/domain/device-order';
import { DEFAULT_NIC_MODEL } from '../command-line/net';
import { attr, child, children, element, setAttr, type XmlElement } from '../../../conf/xml-tree';

/** Validates each `<mac>` and gives an interface without one a generated address. */
export function defaultInterfaces(devs: XmlElement): void {
  const taken = new Set<string>();
  for (const nic of children(devs, 'interface')) {
    const mac = child(nic, 'mac');
    if (mac) {
      const text = parseMacAddress(attr(mac, 'address') ?? '');
      setAttr(mac, 'address', text);
      taken.add(text);
    }
  }
  for (const nic of children(devs, 'interface')) {
    if (!child(nic, 'mac')) {
      const mac = generateMacAddress(taken);
      taken.add(mac);
      nic.children.unshift(element('mac', [['address', mac]]));
    }
    if (!child(nic, 'model')) {
      // libvirt writes the x86 default model out, after <mac>/<source>/<target>.
      const at = nic.children.findIndex((c) => 'name' in c && !['mac', 'source', 'target'].includes(c.name));
      nic.children.splice(at < 0 ? nic.children.length : at, 0, element('model', [['type', DEFAULT_NIC_MODEL]]));
    }
  }
}

/** PS/2 mouse and keyboard (the i8042 of x86 machines) and USB addresses of USB inputs. */
export function defaultInputs(devs: XmlElement): void {
  const inputs = children(devs, 'input');
  for (const type of ['mouse', 'keyboard']) {
    if (!inputs.some((i) => attr(i, 'type') === type && attr(i, 'bus') === 'ps2')) {
      insertDevice(devs, element('input', [['type', type], ['bus', 'ps2']]));
    }
  }
  let port = 1;
  for (const i of children(devs, 'input')) {
    if (attr(i, 'bus') === undefined) setAttr(i, 'bus', attr(i, 'type') === 'tablet' ? 'usb' : 'ps2');
    if (attr(i, 'bus') !== 'usb' || child(i, 'address')) continue;
    i.children.push(element('address', [['type', 'usb'], ['bus', '0'], ['port', String(port++)]]));
  }
}

/** `<listen type='address' address=...>` for VNC, `<audio>`, video model attributes, balloon. */
export function defaultMisc(devs: XmlElement): void {
  for (const g of children(devs, 'graphics')) {
    if (attr(g, 'type') === 'vnc' && attr(g, 'port') === undefined) {
      const at = g.attrs.findIndex(([k]) => k === 'type') + 1;
      g.attrs.splice(at, 0, ['port', '-1'], ['autoport', 'yes']);
    }
    const addr = attr(g, 'listen');
    if (!child(g, 'listen')) g.children.push(element('listen', addr ? [['type', 'address'], ['address', addr]] : [['type', 'address']]));
  }
  if (children(devs, 'audio').length === 0) insertDevice(devs, element('audio', [['id', '1'], ['type', 'none']]));
  children(devs, 'video').forEach((v, i) => {
    let model = child(v, 'model');
    if (!model) {
      model = element('model', [['type', 'vga']]);
      v.children.unshift(model);
    }
    const type = attr(model, 'type') ?? 'vga';
    if (type === 'none') return;
    if ((type === 'vga' || type === 'cirrus') && attr(model, 'vram') === undefined) setAttr(model, 'vram', '16384');
    if (attr(model, 'heads') === undefined) setAttr(model, 'heads', '1');
    if (i === 0 && attr(model, 'primary') === undefined) setAttr(model, 'primary', 'yes');
  });
  if (children(devs, 'memballoon').length === 0) insertDevice(devs, element('memballoon', [['model', 'virtio']]));
}
