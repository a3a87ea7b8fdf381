/**
 * The devices besides disks, NICs, controllers and character devices: USB tablet, audio
 * backend, VNC, video, watchdog, memballoon and RNG, with libvirt 9.0's ids.
 */
import { attr, child, children, textOf, type XmlElement } from '../../../conf/xml-tree';
import { deviceArg, jsonArg, pciProps, unsupported } from './args';

const WATCHDOG_ACTIONS = new Set(['reset', 'shutdown', 'poweroff', 'pause', 'none', 'inject-nmi']);

/**
 * `<input>`: PS/2 ones are the machine's own; a USB tablet is `usb-tablet` on the first USB bus;
 * virtio ones are `virtio-tablet-pci` and the like.
 */
export function inputArgs(devs: XmlElement | undefined): string[] {
  const out: string[] = [];
  (devs ? children(devs, 'input') : []).forEach((inp, i) => {
    const type = attr(inp, 'type');
    const bus = attr(inp, 'bus') ?? 'ps2';
    if (bus === 'ps2' && (type === 'mouse' || type === 'keyboard')) return;
    if (bus === 'usb' && (type === 'tablet' || type === 'mouse' || type === 'keyboard')) {
      const a = child(inp, 'address');
      const driver = type === 'tablet' ? 'usb-tablet' : type === 'mouse' ? 'usb-mouse' : 'usb-kbd';
      out.push(...deviceArg({ driver, id: `input${i}`, bus: `usb.${attr(a, 'bus') ?? 0}`, port: attr(a, 'port') ?? '1' }));
      return;
    }
    if (bus === 'virtio' && (type === 'tablet' || type === 'mouse' || type === 'keyboard')) {
      out.push(...deviceArg({ driver: `virtio-${type}-pci`, id: `input${i}`, ...pciProps(inp, devs) }));
      return;
    }
    throw unsupported(`input of type '${type}' on bus '${bus}' is not supported`);
  });
  return out;
}

/** `<audio>` backends (`type='none'` only: tsvirt guests have no sound card). */
export function audioArgs(devs: XmlElement | undefined): string[] {
  const out: string[] = [];
  for (const a of devs ? children(devs, 'audio') : []) {
    const type = attr(a, 'type');
    if (type !== 'none') throw unsupported(`audio type '${type}' is not supported`);
    out.push(...jsonArg('-audiodev', { id: `audio${attr(a, 'id') ?? '1'}`, driver: 'none' }));
  }
  return out;
}

/**
 * `<graphics type='vnc'>` on a local address. Autoport lets QEMU take the first free display
 * from :0 (`to=`), where libvirt probes ports itself; the live XML reports the port QEMU took.
 */
export function graphicsArgs(devs: XmlElement | undefined): string[] {
  const all = devs ? children(devs, 'graphics') : [];
  if (all.length === 0) return ['-display', 'none'];
  if (all.length > 1) throw unsupported('only one <graphics> device is supported');
  const g = all[0];
  if (attr(g, 'type') !== 'vnc') throw unsupported(`graphics type '${attr(g, 'type')}' is not supported`);
  const listen = attr(child(g, 'listen'), 'address') ?? attr(g, 'listen') ?? '127.0.0.1';
  if (!['127.0.0.1', 'localhost', '::1'].includes(listen)) throw unsupported(`VNC listen address '${listen}' is not supported (local addresses only)`);
  const host = listen === '::1' ? '[::1]' : listen;
  const port = Number(attr(g, 'port') ?? -1);
  const auto = attr(g, 'autoport') !== 'no' && port < 0;
  const audio = children(devs!, 'audio')[0];
  const audiodev = audio ? `,audiodev=audio${attr(audio, 'id') ?? '1'}` : '';
  if (!auto && (port < 5900 || port > 65535)) throw unsupported(`VNC port ${port} is not supported`);
  return ['-vnc', auto ? `${host}:0,to=99${audiodev}` : `${host}:${port - 5900}${audiodev}`];
}

/** `<video>`: vga (VGA), cirrus, virtio (virtio-vga as primary, virtio-gpu-pci else), none. */
export function videoArgs(devs: XmlElement | undefined): string[] {
  const out: string[] = [];
  (devs ? children(devs, 'video') : []).forEach((v, i) => {
    const model = child(v, 'model');
    const type = attr(model, 'type') ?? 'vga';
    const primary = i === 0;
    const id = `video${i}`;
    if (type === 'none') return;
    if (type === 'vga') {
      if (!primary) throw unsupported('a secondary vga video device is not supported');
      out.push(...deviceArg({ driver: 'VGA', id, vgamem_mb: Math.floor(Number(attr(model, 'vram') ?? 16384) / 1024), ...pciProps(v, devs) }));
    } else if (type === 'cirrus') {
      if (!primary) throw unsupported('a secondary cirrus video device is not supported');
      out.push(...deviceArg({ driver: 'cirrus-vga', id, ...pciProps(v, devs) }));
    } else if (type === 'virtio') {
      out.push(...deviceArg({ driver: primary ? 'virtio-vga' : 'virtio-gpu-pci', id, max_outputs: Number(attr(model, 'heads') ?? 1), ...pciProps(v, devs) }));
    } else {
      throw unsupported(`video model '${type}' is not supported`);
    }
  });
  return out;
}

/** `<watchdog>`: i6300esb (PCI) or ib700 (ISA), and QEMU's action when it fires. */
export function watchdogArgs(devs: XmlElement | undefined): string[] {
  const all = devs ? children(devs, 'watchdog') : [];
  if (all.length > 1) throw unsupported('only one <watchdog> device is supported');
  if (all.length === 0) return [];
  const w = all[0];
  const model = attr(w, 'model');
  const action = attr(w, 'action') ?? 'reset';
  if (!WATCHDOG_ACTIONS.has(action)) throw unsupported(`watchdog action '${action}' is not supported`);
  const dev = model === 'i6300esb' ? { driver: 'i6300esb', id: 'watchdog0', ...pciProps(w, devs) }
    : model === 'ib700' ? { driver: 'ib700', id: 'watchdog0' } : undefined;
  if (!dev) throw unsupported(`watchdog model '${model}' is not supported`);
  // QEMU calls libvirt's 'poweroff' action 'poweroff' too, and 'inject-nmi' the same.
  return [...deviceArg(dev), '-watchdog-action', action];
}

/** `<memballoon model='virtio'>` (or none). */
export function balloonArgs(devs: XmlElement | undefined): string[] {
  const out: string[] = [];
  for (const b of devs ? children(devs, 'memballoon') : []) {
    const model = attr(b, 'model');
    if (model === 'none') continue;
    if (model !== 'virtio') throw unsupported(`memballoon model '${model}' is not supported`);
    out.push(...deviceArg({ driver: 'virtio-balloon-pci', id: 'balloon0', ...pciProps(b, devs) }));
  }
  return out;
}

/** `<rng model='virtio'>` with a random (file) or builtin backend. */
export function rngArgs(devs: XmlElement | undefined): string[] {
  const out: string[] = [];
  (devs ? children(devs, 'rng') : []).forEach((r, i) => {
    if (attr(r, 'model') !== 'virtio') throw unsupported(`rng model '${attr(r, 'model')}' is not supported`);
    const backend = child(r, 'backend');
    const bmodel = attr(backend, 'model') ?? 'random';
    const obj = `objrng${i}`;
    if (bmodel === 'random') {
      out.push(...jsonArg('-object', { 'qom-type': 'rng-random', id: obj, filename: (textOf(backend) ?? '').trim() || '/dev/urandom' }));
    } else if (bmodel === 'builtin') {
      out.push(...jsonArg('-object', { 'qom-type': 'rng-builtin', id: obj }));
    } else {
      throw unsupported(`rng backend model '${bmodel}' is not supported`);
    }
    out.push(...deviceArg({ driver: 'virtio-rng-pci', rng: obj, id: `rng${i}`, ...pciProps(r, devs) }));
  });
  return out;
}
