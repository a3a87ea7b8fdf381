/**
 * What the live XML of a running guest shows beyond its definition, read from QEMU as libvirt
 * does after start: the pty each `<serial type='pty'>` got (`<source path='/dev/pts/N'/>`, and on
 * the console that mirrors it `tty=` too), from QMP `query-chardev`.
 */
import type { DomainDef } from '../../conf/domain-xml';
import { attr, child, children, element, setAttr, type XmlElement } from '../../conf/xml-tree';
import { autoChannelPath } from './command-line/chardev';
import type { QmpClient } from './qmp';

interface ChardevInfo {
  label: string;
  filename: string;
}

function setSourcePath(dev: XmlElement, path: string): void {
  const src = child(dev, 'source');
  if (src) setAttr(src, 'path', path);
  else dev.children.unshift(element('source', [['path', path]]));
}

/** Writes the pty paths QEMU reports into `def` (the live definition). */
export function applyPtyPaths(def: DomainDef, chardevs: ChardevInfo[]): void {
  const devs = child(def.tree, 'devices');
  if (!devs) return;
  const ptys = new Map(chardevs.filter((c) => c.filename.startsWith('pty:')).map((c) => [c.label, c.filename.slice(4)]));
  const serials = children(devs, 'serial');
  serials.forEach((s, i) => {
    const path = ptys.get(`charserial${i}`);
    if (path && (attr(s, 'type') ?? 'pty') === 'pty') setSourcePath(s, path);
  });
  for (const c of children(devs, 'console')) {
    if ((attr(c, 'type') ?? 'pty') !== 'pty' || (attr(child(c, 'target'), 'type') ?? 'serial') !== 'serial') continue;
    const path = ptys.get(`charserial${attr(child(c, 'target'), 'port') ?? '0'}`);
    if (!path) continue;
    setAttr(c, 'tty', path);
    setSourcePath(c, path);
  }
}

/**
 * Writes into `def` (the live definition) the socket paths the unix channels without one were
 * given in `dir`, as libvirt shows them once the guest runs.
 */
export function applyChannelPaths(def: DomainDef, dir: string): void {
  const devs = child(def.tree, 'devices');
  (devs ? children(devs, 'channel') : []).forEach((ch, i) => {
    const path = autoChannelPath(ch, i, dir);
    if (!path) return;
    setSourcePath(ch, path);
    const src = child(ch, 'source');
    if (src && attr(src, 'mode') === undefined) src.attrs.unshift(['mode', 'bind']);
  });
}

/** Asks QEMU for its character devices and records the live details in `def`. */
export async function recordLiveDetails(def: DomainDef, qmp: QmpClient): Promise<void> {
  applyPtyPaths(def, (await qmp.execute('query-chardev')) as ChardevInfo[]);
}
