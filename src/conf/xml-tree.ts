/**
 * A small ordered XML tree on top of fast-xml-parser, and a writer that formats it the way
 * libvirt does (2-space indentation, single-quoted attributes, empty elements self-closed).
 *
 * The tree keeps element and attribute order so that elements tsvirt does not model survive a
 * parse/format round trip unchanged.
 */
import type { XMLParser } from 'fast-xml-parser';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { VirError } from '../util/vir-error';

/** One XML element: name, ordered attributes and ordered children. */
export interface XmlElement {
  name: string;
  attrs: Array<[string, string]>;
  children: XmlNode[];
}

/** A text child (already entity-decoded). */
export interface XmlText {
  text: string;
}

/** A child of an element. */
export type XmlNode = XmlElement | XmlText;

/** True when the node is an element. */
export function isElement(n: XmlNode): n is XmlElement {
  return (n as XmlElement).name !== undefined;
}

type FastXmlParser = typeof import('fast-xml-parser');

let parser: XMLParser | undefined;
/**
 * fast-xml-parser on first use: commands and processes that never parse XML (`tsvirsh uri`, the
 * flag tables that import this file's helpers) do not pay its 13 ms load.
 */
function xmlLib(): FastXmlParser {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('fast-xml-parser') as FastXmlParser;
}

function getParser(): XMLParser {
  parser ??= new (xmlLib().XMLParser)({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    processEntities: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
  });
  return parser;
}

type RawNode = Record<string, unknown>;

function convert(raw: RawNode): XmlNode | undefined {
  if ('#text' in raw) return { text: String(raw['#text']) };
  const name = Object.keys(raw).find((k) => k !== ':@');
  if (name === undefined) return undefined;
  const rawAttrs = (raw[':@'] ?? {}) as Record<string, unknown>;
  const attrs: Array<[string, string]> = Object.entries(rawAttrs).map(([k, v]) => [k, String(v)]);
  const kids = (raw[name] ?? []) as RawNode[];
  const children = kids.map(convert).filter((c): c is XmlNode => c !== undefined);
  return { name, attrs, children };
}

/**
 * Parses a document and returns its root element. Malformed XML raises XML_ERROR with a
 * libxml2-like "(<docName>):LINE: message" text, which is how libvirt reports parser errors.
 */
export function parseXmlDocument(xml: string, docName: string, domain: ErrorDomain = ErrorDomain.DOMAIN): XmlElement {
  if (typeof xml !== 'string' || xml.trim() === '') {
    throw VirError.report(ErrorCode.XML_ERROR, domain, `(${docName}):1: Document is empty`);
  }
  const res = xmlLib().XMLValidator.validate(xml);
  if (res !== true) {
    throw VirError.report(ErrorCode.XML_ERROR, domain, `(${docName}):${res.err.line}: ${res.err.msg}`);
  }
  const raw = getParser().parse(xml) as RawNode[];
  const roots = raw.map(convert).filter((n): n is XmlElement => n !== undefined && isElement(n));
  if (roots.length !== 1) {
    throw VirError.report(ErrorCode.XML_ERROR, domain, `(${docName}):1: Extra content at the end of the document`);
  }
  return roots[0];
}

/** Deep copy, so formatting never mutates a definition's stored tree. */
export function cloneElement(el: XmlElement): XmlElement {
  return {
    name: el.name,
    attrs: el.attrs.map(([k, v]) => [k, v]),
    children: el.children.map((c) => (isElement(c) ? cloneElement(c) : { text: c.text })),
  };
}

/** First child element with that name. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c): c is XmlElement => isElement(c) && c.name === name);
}

/** All child elements with that name (all child elements when name is omitted). */
export function children(el: XmlElement, name?: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement => isElement(c) && (name === undefined || c.name === name));
}

/** An attribute's value. */
export function attr(el: XmlElement | undefined, name: string): string | undefined {
  return el?.attrs.find(([k]) => k === name)?.[1];
}

/** Sets (or, with undefined, removes) an attribute, keeping its position when it exists. */
export function setAttr(el: XmlElement, name: string, value: string | undefined): void {
  const i = el.attrs.findIndex(([k]) => k === name);
  if (value === undefined) {
    if (i >= 0) el.attrs.splice(i, 1);
  } else if (i >= 0) {
    el.attrs[i][1] = value;
  } else {
    el.attrs.push([name, value]);
  }
}

/** The concatenated text content of an element (like XPath string()). */
export function textOf(el: XmlElement | undefined): string | undefined {
  if (!el) return undefined;
  return el.children.map((c) => (isElement(c) ? (textOf(c) ?? '') : c.text)).join('');
}

/** Builds an element. */
export function element(name: string, attrs: Array<[string, string]> = [], text?: string): XmlElement {
  return { name, attrs, children: text === undefined ? [] : [{ text }] };
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(s: string): string {
  return escapeText(s).replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

function formatInto(el: XmlElement, depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  const attrs = el.attrs.map(([k, v]) => ` ${k}='${escapeAttr(v)}'`).join('');
  if (el.children.length === 0) {
    out.push(`${pad}<${el.name}${attrs}/>`);
    return;
  }
  if (el.children.every((c) => !isElement(c))) {
    out.push(`${pad}<${el.name}${attrs}>${escapeText(textOf(el) ?? '')}</${el.name}>`);
    return;
  }
  out.push(`${pad}<${el.name}${attrs}>`);
  for (const c of el.children) {
    if (isElement(c)) formatInto(c, depth + 1, out);
    else out.push(`${'  '.repeat(depth + 1)}${escapeText(c.text)}`);
  }
  out.push(`${pad}</${el.name}>`);
}

/** Formats an element as libvirt does, with a trailing newline. */
export function formatXmlElement(el: XmlElement, depth = 0): string {
  const out: string[] = [];
  formatInto(el, depth, out);
  return `${out.join('\n')}\n`;
}
