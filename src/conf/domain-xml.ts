/**
 * Domain XML: parsing into a typed DomainDef and writing it back in libvirt's `dumpxml` style.
 *
 * A DomainDef holds the fields tsvirt models AND the parsed tree. Formatting starts from the tree
 * and rewrites only the modeled elements from the typed fields, so everything tsvirt does not
 * model (devices details, features, metadata, foreign namespaces...) is written back unchanged.
 */
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { VirError } from '../util/vir-error';
import { parseMemoryKiB } from './memory-units';
import { canonicalUuid, generateUuid } from './uuid';
import {
  attr,
  child,
  children,
  cloneElement,
  element,
  formatXmlElement,
  isElement,
  parseXmlDocument,
  setAttr,
  textOf,
  type XmlElement,
} from './xml-tree';

/** `<os>`: the guest OS type and its optional arch / machine. */
export interface DomainOsDef {
  type: string;
  arch?: string;
  machine?: string;
}

/** A summary of one `<devices>` child (the full element stays in the tree). */
export interface DomainDeviceDef {
  /** Element name: disk, interface, memballoon, ... */
  kind: string;
  type?: string;
  device?: string;
  model?: string;
  /** `<target dev=...>`. */
  target?: string;
  /** `<source file|network|dev|bridge=...>`. */
  source?: string;
}

/** A parsed domain definition. Memory values are KiB. */
export interface DomainDef {
  /** Virtualization type (`<domain type=...>`): test, qemu, kvm, ... */
  type: string;
  name: string;
  /** Canonical lower-case UUID (generated when the XML had none). */
  uuid: string;
  title?: string;
  description?: string;
  /** `<memory>`: maximum memory, KiB. */
  memory: number;
  /** `<currentMemory>`: balloon target, KiB (never above `memory`). */
  currentMemory: number;
  vcpu: number;
  vcpuPlacement: string;
  os: DomainOsDef;
  onPoweroff: string;
  onReboot: string;
  onCrash: string;
  devices: DomainDeviceDef[];
  /** The parsed `<domain>` element; unmodeled content is formatted from here. */
  tree: XmlElement;
}

/** Options of {@link formatDomainXML}. */
export interface FormatDomainOptions {
  /** VIR_DOMAIN_XML_INACTIVE: no runtime `id` attribute. */
  inactive?: boolean;
  /** Runtime id of an active domain (omitted when -1 or undefined). */
  id?: number;
}

/** Virtualization types libvirt's domain XML accepts (virDomainVirtType). */
const VIRT_TYPES = [
  'none', 'qemu', 'kqemu', 'kvm', 'xen', 'lxc', 'uml', 'openvz', 'test', 'vmware', 'hyperv',
  'vbox', 'phyp', 'parallels', 'bhyve', 'vz', 'hvf',
];
const LIFECYCLE_ACTIONS = ['destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart'];

/** libvirt's order of top-level elements, used to insert one the input lacked where dumpxml puts it. */
const TOP_ORDER = [
  'name', 'uuid', 'genid', 'title', 'description', 'metadata', 'maxMemory', 'memory', 'currentMemory',
  'blkiotune', 'memtune', 'memoryBacking', 'vcpu', 'vcpus', 'iothreads', 'cputune', 'numatune', 'resource',
  'sysinfo', 'bootloader', 'bootloader_args', 'os', 'idmap', 'features', 'cpu', 'clock', 'on_poweroff',
  'on_reboot', 'on_crash', 'on_lockfailure', 'pm', 'perf', 'devices', 'seclabel',
];

function xmlError(detail: string): VirError {
  return VirError.report(ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, detail);
}

function parseLifecycle(root: XmlElement, name: string, dflt: string): string {
  const text = textOf(child(root, name))?.trim();
  if (text === undefined || text === '') return dflt;
  if (!LIFECYCLE_ACTIONS.includes(text)) {
    throw xmlError(`Invalid value for element '${name}': '${text}'`);
  }
  return text;
}

function parseVcpu(root: XmlElement): { vcpu: number; placement: string } {
  const el = child(root, 'vcpu');
  if (!el) return { vcpu: 1, placement: 'static' };
  const text = (textOf(el) ?? '').trim();
  if (!/^[0-9]+$/.test(text)) throw xmlError('maximum vcpus count must be an integer');
  const vcpu = Number(text);
  if (vcpu < 1) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, 'Invalid number of vcpus');
  return { vcpu, placement: attr(el, 'placement') ?? 'static' };
}

/** The summaries of a domain tree's `<devices>` children (after a driver added its defaults too). */
export function deviceSummaries(root: XmlElement): DomainDeviceDef[] {
  const devs = child(root, 'devices');
  if (!devs) return [];
  return children(devs).map((d) => {
    const src = child(d, 'source');
    const model = child(d, 'model');
    return {
      kind: d.name,
      type: attr(d, 'type'),
      device: attr(d, 'device'),
      model: attr(d, 'model') ?? attr(model, 'type'),
      target: attr(child(d, 'target'), 'dev'),
      source: attr(src, 'file') ?? attr(src, 'network') ?? attr(src, 'dev') ?? attr(src, 'bridge'),
    };
  });
}

/**
 * Parses domain XML. Errors follow libvirt: malformed XML or a bad element -> XML_ERROR, a
 * malformed `<uuid>` -> INTERNAL_ERROR "malformed uuid element" (what domain_conf.c raises), an
 * unknown memory unit -> INVALID_ARG "unknown suffix 'X'".
 */
export function parseDomainXML(xml: string): DomainDef {
  const root = parseXmlDocument(xml, 'domain_definition');
  if (root.name !== 'domain') throw xmlError(`unexpected root element <${root.name}>, expecting <domain>`);

  const type = attr(root, 'type');
  if (type === undefined) throw xmlError("Missing required attribute 'type' in element 'domain'");
  if (!VIRT_TYPES.includes(type)) throw xmlError(`Invalid value for attribute 'type' in element 'domain': '${type}'.`);

  const name = textOf(child(root, 'name'))?.trim();
  if (!name) throw xmlError('missing name information');
  if (name.includes('/')) throw xmlError(`name ${name} cannot contain '/'`);

  const uuidText = textOf(child(root, 'uuid'));
  let uuid: string;
  if (uuidText === undefined || uuidText.trim() === '') {
    uuid = generateUuid();
  } else {
    const canon = canonicalUuid(uuidText);
    if (!canon) throw VirError.report(ErrorCode.INTERNAL_ERROR, ErrorDomain.DOMAIN, 'malformed uuid element');
    uuid = canon;
  }

  const memEl = child(root, 'memory');
  const memory = memEl ? parseMemoryKiB(textOf(memEl) ?? '', attr(memEl, 'unit'), './memory[1]') : 0;
  const curEl = child(root, 'currentMemory');
  let currentMemory = curEl ? parseMemoryKiB(textOf(curEl) ?? '', attr(curEl, 'unit'), './currentMemory[1]') : 0;
  // libvirt's post-parse: no balloon target, or one above the maximum, means the maximum.
  if (currentMemory === 0 || currentMemory > memory) currentMemory = memory;

  const { vcpu, placement } = parseVcpu(root);

  const osEl = child(root, 'os');
  const osType = child(osEl ?? element('os'), 'type');
  const osTypeText = textOf(osType)?.trim();
  if (!osTypeText) throw xmlError('an os <type> must be specified');

  return {
    type,
    name,
    uuid,
    title: textOf(child(root, 'title')),
    description: textOf(child(root, 'description')),
    memory,
    currentMemory,
    vcpu,
    vcpuPlacement: placement,
    os: { type: osTypeText, arch: attr(osType, 'arch'), machine: attr(osType, 'machine') },
    onPoweroff: parseLifecycle(root, 'on_poweroff', 'destroy'),
    onReboot: parseLifecycle(root, 'on_reboot', 'restart'),
    onCrash: parseLifecycle(root, 'on_crash', 'destroy'),
    devices: deviceSummaries(root),
    tree: root,
  };
}

function rank(name: string): number {
  return TOP_ORDER.indexOf(name);
}

/** Inserts a top-level element after the last one libvirt writes before it; returns it. */
export function insertTopLevel(root: XmlElement, el: XmlElement): XmlElement {
  const mine = rank(el.name);
  let at = 0;
  root.children.forEach((c, i) => {
    if (isElement(c)) {
      const r = rank(c.name);
      if (r >= 0 && r <= mine) at = i + 1;
    }
  });
  root.children.splice(at, 0, el);
  return el;
}

/** Returns the named child, creating it at libvirt's position when the tree lacks it. */
function upsert(root: XmlElement, name: string): XmlElement {
  return child(root, name) ?? insertTopLevel(root, element(name));
}

function setText(el: XmlElement, text: string): void {
  el.children = [{ text }];
}

function removeChild(root: XmlElement, name: string): void {
  root.children = root.children.filter((c) => !(isElement(c) && c.name === name));
}

/**
 * Writes a definition as libvirt's dumpxml does: `<domain type='test' id='1'>`, 2-space
 * indentation, single-quoted attributes, memory in KiB.
 */
export function formatDomainXML(def: DomainDef, opts: FormatDomainOptions = {}): string {
  const root = cloneElement(def.tree);
  root.name = 'domain';
  const others = root.attrs.filter(([k]) => k !== 'type' && k !== 'id');
  root.attrs = [['type', def.type]];
  if (!opts.inactive && opts.id !== undefined && opts.id >= 0) root.attrs.push(['id', String(opts.id)]);
  root.attrs.push(...others);

  setText(upsert(root, 'name'), def.name);
  setText(upsert(root, 'uuid'), def.uuid);
  if (def.title !== undefined) setText(upsert(root, 'title'), def.title);
  else removeChild(root, 'title');
  if (def.description !== undefined) setText(upsert(root, 'description'), def.description);
  else removeChild(root, 'description');

  const mem = upsert(root, 'memory');
  mem.attrs = [['unit', 'KiB'], ...mem.attrs.filter(([k]) => k !== 'unit')];
  setText(mem, String(def.memory));
  const cur = upsert(root, 'currentMemory');
  cur.attrs = [['unit', 'KiB'], ...cur.attrs.filter(([k]) => k !== 'unit')];
  setText(cur, String(def.currentMemory));

  const vcpu = upsert(root, 'vcpu');
  vcpu.attrs = [['placement', def.vcpuPlacement], ...vcpu.attrs.filter(([k]) => k !== 'placement')];
  setText(vcpu, String(def.vcpu));

  const os = upsert(root, 'os');
  let osType = child(os, 'type');
  if (!osType) {
    osType = element('type');
    os.children.unshift(osType);
  }
  setAttr(osType, 'arch', def.os.arch);
  setAttr(osType, 'machine', def.os.machine);
  setText(osType, def.os.type);

  setText(upsert(root, 'on_poweroff'), def.onPoweroff);
  setText(upsert(root, 'on_reboot'), def.onReboot);
  setText(upsert(root, 'on_crash'), def.onCrash);
  return formatXmlElement(root);
}

/** A deep copy of a definition (the tree included), so callers may edit it freely. */
export function cloneDomainDef(def: DomainDef): DomainDef {
  return {
    ...def,
    os: { ...def.os },
    devices: def.devices.map((d) => ({ ...d })),
    tree: cloneElement(def.tree),
  };
}
