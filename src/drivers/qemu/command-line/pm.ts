/**
 * `<pm>`: whether the guest may suspend to RAM (S3) or to disk (S4). On i440fx these are
 * properties of the PIIX4 power-management device, set with `-global` as libvirt 9.0 does;
 * without the element QEMU's defaults stay.
 */
import { attr, child, children, type XmlElement } from '../../../conf/xml-tree';
import { unsupported } from './args';

const STATES: Record<string, string> = { 'suspend-to-mem': 'disable_s3', 'suspend-to-disk': 'disable_s4' };

/** The `-global PIIX4_PM.disable_s3=` / `disable_s4=` arguments of `<pm>`. */
export function pmArgs(root: XmlElement): string[] {
  const pm = child(root, 'pm');
  if (!pm) return [];
  const out: string[] = [];
  for (const el of children(pm)) {
    const prop = STATES[el.name];
    if (!prop) throw unsupported(`element <pm/${el.name}> is not supported`);
    const enabled = attr(el, 'enabled');
    if (enabled === undefined) continue;
    if (enabled !== 'yes' && enabled !== 'no') throw unsupported(`invalid value '${enabled}' for <pm/${el.name}> enabled`);
    out.push('-global', `PIIX4_PM.${prop}=${enabled === 'no' ? 1 : 0}`);
  }
  return out;
}
