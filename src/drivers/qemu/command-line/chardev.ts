/**
 * Character devices: `<serial>` (isa-serial `serialN` on `charserialN`), `<console>` (the first
 * serial port, as libvirt), virtio `<channel>` (virtserialport `channelN` on `charchannelN`).
 * Host sides: pty, file, unix (bind = QEMU listens), null.
 */
import { join } from 'node:path';
import { attr, child, children, type XmlElement } from '../../../conf/xml-tree';
import { deviceArg, esc, unsupported } from './args';

/**
 * Where a `<channel type='unix'>` without a path listens: `dir`/its target name, as libvirt
 * names the socket of a guest agent channel (`org.qemu.guest_agent.0`). Undefined for other
 * devices and for channels the XML gives a path.
 */
export function autoChannelPath(el: XmlElement, index: number, dir: string): string | undefined {
  if (el.name !== 'channel' || (attr(el, 'type') ?? 'pty') !== 'unix' || attr(child(el, 'source'), 'path')) return undefined;
  return join(dir, attr(child(el, 'target'), 'name') ?? `channel${index}`);
}

/** The `-chardev` of a character device with id `id` (`autoPath`: a channel's socket without a path). */
export function chardevArg(el: XmlElement, id: string, autoPath?: string): string[] {
  const type = attr(el, 'type') ?? 'pty';
  const src = child(el, 'source');
  switch (type) {
    case 'pty':
      return ['-chardev', `pty,id=${id}`];
    case 'null':
      return ['-chardev', `null,id=${id}`];
    case 'file': {
      const path = attr(src, 'path');
      if (!path) throw unsupported(`${el.name} of type 'file' needs <source path=...>`);
      const append = attr(src, 'append') === 'on' ? ',append=on' : '';
      return ['-chardev', `file,id=${id},path=${esc(path)}${append}`];
    }
    case 'unix': {
      const path = attr(src, 'path') ?? autoPath;
      if (!path) throw unsupported(`${el.name} of type 'unix' needs <source path=...>`);
      const server = (attr(src, 'mode') ?? 'bind') === 'bind' ? ',server=on,wait=off' : '';
      return ['-chardev', `socket,id=${id},path=${esc(path)}${server}`];
    }
    default:
      throw unsupported(`${el.name} type '${type}' is not supported`);
  }
}

/** Serial ports and the consoles that are not one of them. */
export function serialArgs(devs: XmlElement | undefined): string[] {
  const out: string[] = [];
  const serials = devs ? children(devs, 'serial') : [];
  serials.forEach((s, i) => {
    const t = child(s, 'target');
    const ttype = attr(t, 'type') ?? 'isa-serial';
    if (ttype !== 'isa-serial') throw unsupported(`serial target type '${ttype}' is not supported`);
    const port = Number(attr(t, 'port') ?? i);
    out.push(...chardevArg(s, `charserial${i}`), ...deviceArg({ driver: 'isa-serial', chardev: `charserial${i}`, id: `serial${i}`, index: port }));
  });
  for (const c of devs ? children(devs, 'console') : []) {
    const ttype = attr(child(c, 'target'), 'type') ?? 'serial';
    // The console of type serial is serial port 0 itself (libvirt adds that port on define).
    if (ttype === 'serial' && serials.length > 0) continue;
    throw unsupported(`console target type '${ttype}' is not supported`);
  }
  return out;
}

/**
 * virtio-serial channels (the guest agent's `org.qemu.guest_agent.0`, ...); a unix channel
 * without a path listens in `socketDir`.
 */
export function channelArgs(devs: XmlElement | undefined, socketDir: string): string[] {
  const out: string[] = [];
  (devs ? children(devs, 'channel') : []).forEach((ch, i) => {
    const t = child(ch, 'target');
    if (attr(t, 'type') !== 'virtio') throw unsupported(`channel target type '${attr(t, 'type')}' is not supported`);
    const a = child(ch, 'address');
    const id = `charchannel${i}`;
    out.push(...chardevArg(ch, id, autoChannelPath(ch, i, socketDir)), ...deviceArg({
      driver: 'virtserialport', bus: `virtio-serial${attr(a, 'controller') ?? 0}.${attr(a, 'bus') ?? 0}`, nr: Number(attr(a, 'port') ?? i + 1),
      chardev: id, id: `channel${i}`, name: attr(t, 'name'),
    }));
  });
  return out;
}
