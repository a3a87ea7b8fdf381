/**
 * The host side of `<interface type='ethernet'>` and `<interface type='bridge'>`: a tap device
 * per NIC, as libvirt sets them up. tsvirt names the tap (`<target dev>`, or libvirt's `vnetN`
 * when the XML names none) and QEMU opens it by that name (`ifname=`, no scripts): a tap QEMU
 * creates is not persistent, so the kernel removes it when QEMU exits however it exits, and no
 * tap outlives its guest. `managed='no'` names a tap that must already exist and is left as it
 * is. Once QEMU runs (still stopped at -S), a tap tsvirt named gets the guest's MAC with
 * libvirt's 0xfe first byte, is joined to its bridge and brought up.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { DomainDef } from '../../conf/domain-xml';
import { attr, child, children, cloneElement, element, setAttr, type XmlElement } from '../../conf/xml-tree';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';

const NET_DIR = '/sys/class/net';
/** libvirt's prefix for the taps it names itself; a definition's `vnetN` is renamed at start. */
const VNET_PREFIX = 'vnet';

/** One tap of a guest about to start. */
export interface TapPlan {
  ifname: string;
  /** tsvirt sets the tap up (false for `managed='no'`, which is used as it is). */
  managed: boolean;
  /** The guest's MAC address. */
  mac?: string;
  /** The bridge the tap joins. */
  bridge?: string;
  /** The interface element and its `<target>` before tsvirt named the tap (undefined: none). */
  nic: XmlElement;
  originalTarget?: XmlElement;
}

/** Names handed out by this process whose QEMU has not created the tap yet. */
const pending = new Set<string>();
let nextVnet = 0;

function linkExists(name: string): boolean {
  return name !== '' && !name.includes('/') && existsSync(`${NET_DIR}/${name}`);
}

/** The next `vnetN` no link has and no starting guest of this process was given, as libvirt counts. */
function allocateVnet(): string {
  for (let tries = 0; tries < 65536; tries++) {
    const name = `${VNET_PREFIX}${nextVnet}`;
    nextVnet = (nextVnet + 1) % 65536;
    if (!pending.has(name) && !linkExists(name)) {
      pending.add(name);
      return name;
    }
  }
  throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE, 'No free tap device name');
}

/**
 * Drops the `<target dev='vnetN'/>` of a managed tap from XML being defined, created or restored,
 * as libvirt does: such names are the ones a start hands out, so a definition (or a save image's
 * live XML) that carries one must not claim it again.
 */
export function dropGeneratedTapNames(def: DomainDef): void {
  const devs = child(def.tree, 'devices');
  for (const nic of devs ? children(devs, 'interface') : []) {
    const t = child(nic, 'target');
    if (!t || attr(t, 'managed') === 'no' || !(attr(t, 'dev') ?? '').startsWith(VNET_PREFIX)) continue;
    if (t.attrs.length === 1) nic.children.splice(nic.children.indexOf(t), 1);
    else t.attrs = t.attrs.filter(([k]) => k !== 'dev');
  }
}

/** Writes `<target dev=NAME/>` where libvirt writes it: after `<mac>` and `<source>`. */
function setTargetDev(nic: XmlElement, name: string): void {
  const t = child(nic, 'target');
  if (t) {
    setAttr(t, 'dev', name);
    return;
  }
  const at = nic.children.findIndex((c) => 'name' in c && !['mac', 'source'].includes(c.name));
  nic.children.splice(at < 0 ? nic.children.length : at, 0, element('target', [['dev', name]]));
}

/**
 * Checks the host side of every tap NIC of `def` (the live definition) and names the taps in
 * it. libvirt's errors: a missing bridge is "Cannot get interface MTU on 'BR': No such device",
 * a missing unmanaged tap "target managed='no' but specified dev doesn't exist". On failure
 * nothing is changed; {@link releaseTaps} undoes a successful call.
 */
export function prepareTaps(def: DomainDef): TapPlan[] {
  const devs = child(def.tree, 'devices');
  const plans: TapPlan[] = [];
  try {
    for (const nic of devs ? children(devs, 'interface') : []) {
      const type = attr(nic, 'type');
      if (type !== 'ethernet' && type !== 'bridge') continue;
      const target = child(nic, 'target');
      const dev = attr(target, 'dev');
      const managed = attr(target, 'managed') !== 'no';
      const bridge = type === 'bridge' ? attr(child(nic, 'source'), 'bridge') ?? '' : undefined;
      if (bridge !== undefined && !linkExists(bridge)) {
        throw VirError.system(ErrorDomain.NONE, `Cannot get interface MTU on '${bridge}'`, Object.assign(new Error('ENODEV'), { code: 'ENODEV' }));
      }
      if (!managed && (!dev || !linkExists(dev))) {
        throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU, "target managed='no' but specified dev doesn't exist");
      }
      const own = managed && (!dev || dev.startsWith(VNET_PREFIX));
      const ifname = own ? allocateVnet() : (dev as string);
      plans.push({ ifname, managed, mac: attr(child(nic, 'mac'), 'address'), bridge, nic, originalTarget: target ? cloneElement(target) : undefined });
      if (own) setTargetDev(nic, ifname);
    }
  } catch (err) {
    releaseTaps(plans);
    throw err;
  }
  return plans;
}

/** Gives the interfaces back their `<target>` as it was before {@link prepareTaps} (a failed start). */
export function releaseTaps(plans: TapPlan[]): void {
  for (const p of plans) {
    pending.delete(p.ifname);
    const now = child(p.nic, 'target');
    if (!now) continue;
    if (p.originalTarget) p.nic.children[p.nic.children.indexOf(now)] = p.originalTarget;
    else p.nic.children.splice(p.nic.children.indexOf(now), 1);
  }
}

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { encoding: 'utf8', timeout: 10_000 }, (err, _out, stderr) => {
      if (err) reject(new Error((stderr || err.message).trim()));
      else resolve();
    });
  });
}

/** The tap's own MAC: the guest's with 0xfe first, so the bridge never takes the guest's address. */
function tapMac(mac: string): string {
  return `fe${mac.slice(2)}`;
}

/**
 * Sets up the taps QEMU created (MAC, bridge, link up) once it runs. SYSTEM_ERROR naming the
 * step, as libvirt's "Unable to add bridge BR port TAP", when one fails.
 */
export async function configureTaps(plans: TapPlan[]): Promise<void> {
  try {
    for (const p of plans) {
      if (!p.managed) continue;
      if (p.mac) await step(`Cannot set interface MAC on '${p.ifname}'`, ['link', 'set', 'dev', p.ifname, 'address', tapMac(p.mac)]);
      if (p.bridge) await step(`Unable to add bridge ${p.bridge} port ${p.ifname}`, ['link', 'set', 'dev', p.ifname, 'master', p.bridge]);
      await step(`Cannot set interface flags on '${p.ifname}'`, ['link', 'set', 'dev', p.ifname, 'up']);
    }
  } finally {
    for (const p of plans) pending.delete(p.ifname);
  }
}

async function step(what: string, args: string[]): Promise<void> {
  try {
    await ip(args);
  } catch (err) {
    throw VirError.report(ErrorCode.SYSTEM_ERROR, ErrorDomain.NONE, `${what}: ${(err as Error).message}`);
  }
}
