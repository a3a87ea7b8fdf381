/**
 * Loading test driver fixtures: the built-in default node, or a file in libvirt's test driver
 * format (`<node>` with `<cpu>`, `<memory>` and `<domain>` children, a `<domain file='x.xml'/>`
 * reference relative to the fixture, or a single `<domain>` document).
 */
import { constants as fsc } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDomainXML, formatDomainXML, type DomainDef } from '../../conf/domain-xml';
import { parseXmlDocument, child, children, attr, textOf, formatXmlElement, type XmlElement } from '../../conf/xml-tree';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { DomainState, RunningReason, ShutoffReason, type NodeInfo } from '../types';
import { DEFAULT_DOMAIN_XML, DEFAULT_NODE_INFO } from './default-fixture';
import { TestState } from './state';

/** libvirt's test driver XML namespace (`<test:runstate>`, `<test:transient/>`). */
export const TEST_NAMESPACE = 'http://libvirt.org/schemas/domain/test/1.0';

/**
 * Most bytes one fixture may read, its referenced domain files included. `test:///PATH` comes
 * from whoever opens a connection, read-only clients of a daemon too: without a bound,
 * `test:///dev/zero` or a huge file would make the daemon read until it runs out of memory.
 */
export const FIXTURE_MAX_BYTES = 16 * 1024 * 1024;

/** What one fixture load may still read (shared by the fixture and the files it references). */
interface ReadBudget {
  left: number;
}

function notLoadable(path: string, why: string): VirError {
  return VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.TEST, `cannot load fixture '${path}': ${why}`);
}

/**
 * Reads a fixture file, refusing anything but a regular file within the budget before reading
 * a byte. The type is checked with stat first, because opening a FIFO for reading blocks (in
 * libuv's thread pool, stalling every other file operation of the process) until a writer
 * comes; the file is then opened non-blocking and checked again on the open descriptor, so a
 * file swapped in between is caught too.
 */
async function readText(path: string, budget: ReadBudget): Promise<string> {
  const check = (st: { isFile(): boolean; size: number }): void => {
    if (!st.isFile()) throw notLoadable(path, 'not a regular file');
    if (st.size > budget.left) {
      throw notLoadable(path, `larger than ${FIXTURE_MAX_BYTES} bytes (fixture files and their domain files together)`);
    }
  };
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    check(await stat(path));
    fh = await open(path, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY);
    const st = await fh.stat();
    check(st);
    // Read at most what stat promised plus one byte: a file growing meanwhile is refused, not
    // followed.
    const buf = Buffer.allocUnsafe(Math.min(st.size, budget.left) + 1);
    let have = 0;
    while (have < buf.length) {
      const { bytesRead } = await fh.read(buf, have, buf.length - have, have);
      if (bytesRead === 0) break;
      have += bytesRead;
    }
    if (have > budget.left) throw notLoadable(path, `larger than ${FIXTURE_MAX_BYTES} bytes`);
    budget.left -= have;
    return buf.subarray(0, have).toString('utf8');
  } catch (err) {
    if (err instanceof VirError) throw err;
    throw VirError.system(ErrorDomain.TEST, `cannot read file '${path}'`, err);
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

function intOf(el: XmlElement | undefined, fallback: number): number {
  const t = textOf(el)?.trim();
  if (t === undefined || t === '') return fallback;
  if (!/^[0-9]+$/.test(t)) {
    throw VirError.report(ErrorCode.XML_ERROR, ErrorDomain.TEST, `invalid node element <${el?.name}>: '${t}'`);
  }
  return Number(t);
}

function parseNodeInfo(root: XmlElement): NodeInfo {
  const cpu = child(root, 'cpu');
  const info: NodeInfo = { ...DEFAULT_NODE_INFO };
  if (cpu) {
    info.nodes = intOf(child(cpu, 'nodes'), info.nodes);
    info.sockets = intOf(child(cpu, 'sockets'), info.sockets);
    info.cores = intOf(child(cpu, 'cores'), info.cores);
    info.threads = intOf(child(cpu, 'threads'), info.threads);
    info.cpus = intOf(child(cpu, 'active'), info.nodes * info.sockets * info.cores * info.threads);
    info.mhz = intOf(child(cpu, 'mhz'), info.mhz);
    info.model = textOf(child(cpu, 'model'))?.trim() || info.model;
  }
  info.memory = intOf(child(root, 'memory'), info.memory);
  return info;
}

/** Test-namespace metadata of a domain: the prefix bound to TEST_NAMESPACE, if any. */
function testPrefix(el: XmlElement): string | undefined {
  const hit = el.attrs.find(([k, v]) => k.startsWith('xmlns:') && v === TEST_NAMESPACE);
  return hit?.[0].slice('xmlns:'.length);
}

interface FixtureDomain {
  def: DomainDef;
  runstate: DomainState;
  transient: boolean;
}

function fixtureDomain(el: XmlElement): FixtureDomain {
  const def = parseDomainXML(formatXmlElement(el));
  const prefix = testPrefix(el);
  let runstate = DomainState.RUNNING;
  let transient = false;
  if (prefix) {
    const rs = child(el, `${prefix}:runstate`);
    if (rs) runstate = intOf(rs, DomainState.RUNNING) as DomainState;
    transient = child(el, `${prefix}:transient`) !== undefined;
  }
  return { def, runstate, transient };
}

function addFixtureDomains(state: TestState, doms: FixtureDomain[]): void {
  for (const f of doms) {
    const { dom } = state.addOrMatch(f.def);
    dom.persistent = !f.transient;
    if (f.runstate === DomainState.SHUTOFF) {
      dom.state = DomainState.SHUTOFF;
      dom.reason = ShutoffReason.UNKNOWN;
    } else {
      // libvirt starts fixture domains, then sets the state with reason 0: "running (unknown)".
      state.start(dom, RunningReason.UNKNOWN, f.runstate);
    }
  }
}

/** The state of `test:///default`. */
export function loadDefaultState(): TestState {
  const state = new TestState({ ...DEFAULT_NODE_INFO }, true);
  addFixtureDomains(state, [{ def: parseDomainXML(DEFAULT_DOMAIN_XML), runstate: DomainState.RUNNING, transient: false }]);
  return state;
}

/** A private state loaded from a fixture file (absolute path). */
export async function loadFixtureFile(path: string): Promise<TestState> {
  const budget: ReadBudget = { left: FIXTURE_MAX_BYTES };
  const xml = await readText(path, budget);
  const root = parseXmlDocument(xml, path, ErrorDomain.TEST);
  if (root.name === 'domain') {
    const state = new TestState({ ...DEFAULT_NODE_INFO }, false);
    addFixtureDomains(state, [fixtureDomain(root)]);
    return state;
  }
  if (root.name !== 'node') {
    throw VirError.report(ErrorCode.XML_ERROR, ErrorDomain.TEST, `unexpected root element <${root.name}>, expecting <node>`);
  }
  const state = new TestState(parseNodeInfo(root), false);
  const doms: FixtureDomain[] = [];
  for (const el of children(root, 'domain')) {
    const ref = attr(el, 'file');
    if (ref !== undefined) {
      const file = isAbsolute(ref) ? ref : resolve(dirname(path), ref);
      const sub = parseXmlDocument(await readText(file, budget), file, ErrorDomain.TEST);
      doms.push(fixtureDomain(sub));
    } else {
      doms.push(fixtureDomain(el));
    }
  }
  addFixtureDomains(state, doms);
  return state;
}

/** Re-exported for callers that want the default domain's XML as libvirt formats it. */
export function defaultDomainXML(id?: number): string {
  return formatDomainXML(parseDomainXML(DEFAULT_DOMAIN_XML), { id });
}
