/**
 * libvirt's defaults for character devices: serial ports get an isa-serial target and a port
 * number, the console mirrors the first serial port (one is created from a lone console), and
 * virtio channels get a virtio-serial port address.
 */
import { insertDevice } from '../../../conf/domain/device-order';
import { attr, child, children, cloneElement, element, setAttr, type XmlElement } from '../../../conf/xml-tree';

function serialTarget(port: number): XmlElement {
  const t = element('target', [['type', 'isa-serial'], ['port', String(port)]]);
  t.children.push(element('model', [['name', 'isa-serial']]));
  return t;
}

/** Puts `target` where libvirt writes it: after `<source>`/`<log>`, before alias and address. */
function placeTarget(dev: XmlElement, target: XmlElement): void {
  const old = child(dev, 'target');
  if (old) {
    dev.children[dev.children.indexOf(old)] = target;
    return;
  }
  const at = dev.children.findIndex((c) => 'name' in c && ['alias', 'address', 'protocol'].includes(c.name));
  dev.children.splice(at < 0 ? dev.children.length : at, 0, target);
}

/** The console of a serial port: same type and source, target serial port 0. */
function consoleOf(serial: XmlElement): XmlElement {
  const con = element('console', serial.attrs.filter(([k]) => k === 'type'));
  const src = child(serial, 'source');
  if (src) con.children.push(cloneElement(src));
  con.children.push(element('target', [['type', 'serial'], ['port', '0']]));
  return con;
}

/** Serial ports, consoles and channels as libvirt writes them on define. */
export function defaultChardevs(devs: XmlElement): void {
  // A unix channel's socket without a path is chosen at start: libvirt keeps no <source> for it.
  for (const ch of children(devs, 'channel')) {
    const src = child(ch, 'source');
    if ((attr(ch, 'type') ?? 'pty') === 'unix' && src && !attr(src, 'path') && (attr(src, 'mode') ?? 'bind') === 'bind') {
      ch.children.splice(ch.children.indexOf(src), 1);
    }
  }
  const consoles = children(devs, 'console');
  const serialConsoles = consoles.filter((c) => (attr(child(c, 'target'), 'type') ?? 'serial') === 'serial');
  if (children(devs, 'serial').length === 0 && serialConsoles.length > 0) {
    // A console alone is the guest's first serial port: libvirt writes that port out.
    const serial = element('serial', serialConsoles[0].attrs.filter(([k]) => k === 'type'));
    const src = child(serialConsoles[0], 'source');
    if (src) serial.children.push(cloneElement(src));
    insertDevice(devs, serial);
  }
  children(devs, 'serial').forEach((s, i) => {
    const t = child(s, 'target');
    const port = Number(attr(t, 'port') ?? i);
    if (!t || attr(t, 'type') === undefined || !child(t, 'model')) placeTarget(s, serialTarget(port));
  });
  const first = children(devs, 'serial')[0];
  if (first && serialConsoles.length === 0) insertDevice(devs, consoleOf(first));
  for (const c of serialConsoles) {
    const t = child(c, 'target');
    if (!t) placeTarget(c, element('target', [['type', 'serial'], ['port', '0']]));
    else {
      setAttr(t, 'type', 'serial');
      setAttr(t, 'port', attr(t, 'port') ?? '0');
    }
  }
  let port = 1;
  for (const ch of children(devs, 'channel')) {
    if (attr(child(ch, 'target'), 'type') !== 'virtio' || child(ch, 'address')) continue;
    ch.children.push(element('address', [['type', 'virtio-serial'], ['controller', '0'], ['bus', '0'], ['port', String(port++)]]));
  }
}
