import { ErrorCode, ErrorDomain } from './error-codes';
import { VirError } from './vir-error';

/** Transports a `driver+transport://` URI may name, as libvirt's remote driver knows them. */
export const URI_TRANSPORTS = ['unix', 'tcp', 'tls', 'ssh', 'ext', 'libssh', 'libssh2'] as const;
export type UriTransport = (typeof URI_TRANSPORTS)[number];

/** A parsed libvirt connection URI. */
export interface VirUri {
  /** The URI exactly as given. */
  readonly raw: string;
  /** Full scheme, e.g. `qemu+ssh`. */
  readonly scheme: string;
  /** The hypervisor part of the scheme, e.g. `qemu`. */
  readonly driver: string;
  /** The transport named after `+`, if any. */
  readonly transport?: UriTransport;
  readonly user?: string;
  /** Host name or address (IPv6 without brackets); undefined for local URIs. */
  readonly host?: string;
  readonly port?: number;
  /** Decoded path, e.g. `/system`, `/default`, or '' for `test://`. */
  readonly path: string;
  /** Decoded query parameters in order (a name may repeat). */
  readonly params: ReadonlyArray<readonly [string, string]>;
  /** Last value of each query parameter. */
  readonly query: Readonly<Record<string, string>>;
  /** `?socket=` : the UNIX socket a remote URI names. */
  readonly socket?: string;
  /**
   * The name a remote driver sends to the daemon: transport and query dropped
   * (`qemu+unix:///system?socket=/x` -> `qemu:///system`).
   */
  readonly nameForDaemon: string;
}

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9.-]*)(?:\+([A-Za-z0-9]+))?$/;

function bad(uri: string, why?: string): VirError {
  return VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.URI, `Unable to parse URI ${uri}${why ? `: ${why}` : ''}`);
}

function decode(uri: string, s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw bad(uri, `bad percent-encoding in '${s}'`);
  }
}

function decodePath(uri: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw bad(uri, `bad percent-encoding in '${s}'`);
  }
}

/**
 * Parses a libvirt URI `driver[+transport]://[user@][host][:port]/path[?query]`. This is the
 * only URI parser in tsvirt: the public layer, the drivers and the daemon all use it.
 * Throws INVALID_ARG for anything that is not a well-formed URI.
 */
export function parseUri(raw: string): VirUri {
  if (typeof raw !== 'string' || raw.length === 0) throw bad(String(raw), 'empty URI');
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) throw bad(raw, 'contains white space or control characters');
  const colon = raw.indexOf(':');
  if (colon <= 0) throw bad(raw, 'no scheme');
  const scheme = raw.slice(0, colon);
  const m = SCHEME_RE.exec(scheme);
  if (!m) throw bad(raw, `bad scheme '${scheme}'`);
  const driver = m[1].toLowerCase();
  let transport: UriTransport | undefined;
  if (m[2] !== undefined) {
    const t = m[2].toLowerCase();
    if (!(URI_TRANSPORTS as readonly string[]).includes(t)) {
      throw VirError.report(
        ErrorCode.INVALID_ARG,
        ErrorDomain.URI,
        `transport in URL not recognised (should be ${URI_TRANSPORTS.join('|')})`,
      );
    }
    transport = t as UriTransport;
  }

  let rest = raw.slice(colon + 1);
  const hashAt = rest.indexOf('#');
  if (hashAt >= 0) rest = rest.slice(0, hashAt);
  let queryStr = '';
  const qAt = rest.indexOf('?');
  if (qAt >= 0) {
    queryStr = rest.slice(qAt + 1);
    rest = rest.slice(0, qAt);
  }

  let user: string | undefined;
  let host: string | undefined;
  let port: number | undefined;
  let pathPart = rest;
  if (rest.startsWith('//')) {
    const afterSlashes = rest.slice(2);
    const slash = afterSlashes.indexOf('/');
    const authority = slash >= 0 ? afterSlashes.slice(0, slash) : afterSlashes;
    pathPart = slash >= 0 ? afterSlashes.slice(slash) : '';
    ({ user, host, port } = parseAuthority(raw, authority));
  } else if (rest.length > 0 && !rest.startsWith('/')) {
    throw bad(raw, 'expected // after the scheme');
  }

  const params: Array<[string, string]> = [];
  if (queryStr.length > 0) {
    for (const piece of queryStr.split('&')) {
      if (piece === '') continue;
      const eq = piece.indexOf('=');
      const name = decode(raw, eq >= 0 ? piece.slice(0, eq) : piece);
      const value = eq >= 0 ? decode(raw, piece.slice(eq + 1)) : '';
      if (name === '') throw bad(raw, 'query parameter without a name');
      params.push([name, value]);
    }
  }
  const query: Record<string, string> = Object.create(null);
  for (const [k, v] of params) query[k] = v;
  const path = decodePath(raw, pathPart);
  const hostForName = host === undefined ? '' : host.includes(':') ? `[${host}]` : host;
  const authorityForName =
    host === undefined && user === undefined
      ? ''
      : `${user !== undefined ? `${encodeURIComponent(user)}@` : ''}${hostForName}${port !== undefined ? `:${port}` : ''}`;
  const nameForDaemon = rest.startsWith('//') ? `${driver}://${authorityForName}${pathPart}` : `${driver}:${pathPart}`;

  return {
    raw,
    scheme: scheme.toLowerCase(),
    driver,
    transport,
    user,
    host,
    port,
    path,
    params,
    query,
    socket: query.socket,
    nameForDaemon,
  };
}

function parseAuthority(raw: string, authority: string): { user?: string; host?: string; port?: number } {
  let user: string | undefined;
  let hostPort = authority;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    user = decodePath(raw, authority.slice(0, at));
    hostPort = authority.slice(at + 1);
    if (user === '') throw bad(raw, 'empty user name');
  }
  let host: string | undefined;
  let portStr: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) throw bad(raw, 'unterminated IPv6 address');
    host = hostPort.slice(1, close);
    if (!/^[0-9A-Fa-f:.]+$/.test(host)) throw bad(raw, `bad IPv6 address '${host}'`);
    const after = hostPort.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw bad(raw, 'garbage after IPv6 address');
      portStr = after.slice(1);
    }
  } else {
    const c = hostPort.lastIndexOf(':');
    if (c >= 0) {
      portStr = hostPort.slice(c + 1);
      hostPort = hostPort.slice(0, c);
    }
    if (hostPort !== '') {
      if (!/^[A-Za-z0-9._~%!$&'()*,;=-]+$/.test(hostPort)) throw bad(raw, `bad host name '${hostPort}'`);
      host = decodePath(raw, hostPort);
    }
  }
  let port: number | undefined;
  if (portStr !== undefined && portStr !== '') {
    if (!/^[0-9]{1,5}$/.test(portStr) || Number(portStr) > 65535) throw bad(raw, `bad port '${portStr}'`);
    port = Number(portStr);
  }
  if (host === undefined && port !== undefined) throw bad(raw, 'port without a host');
  if (host === undefined && user !== undefined) throw bad(raw, 'user name without a host');
  return { user, host, port };
}

/** The transport a remote URI implies: the one it names, else tls with a host, unix without. */
export function effectiveTransport(uri: VirUri): UriTransport {
  return uri.transport ?? (uri.host !== undefined ? 'tls' : 'unix');
}

/**
 * The URI to open when the caller names none: `TSVIRT_DEFAULT_URI`, then libvirt's own
 * `LIBVIRT_DEFAULT_URI` (so scripts written for libvirt keep working), else undefined (probe
 * all drivers). Empty values count as unset, as in libvirt.
 */
export function defaultUri(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const name of ['TSVIRT_DEFAULT_URI', 'LIBVIRT_DEFAULT_URI']) {
    const v = env[name];
    if (v && v.length > 0) return v;
  }
  return undefined;
}
