/**
 * tsvirtd's settings: a config file in libvirtd.conf syntax (`key = value`, `#` comments,
 * strings in double quotes, numbers, octal modes as strings) overlaid by command-line flags.
 */
import fs from 'node:fs';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { VirError } from '../util/vir-error';
import { DEFAULT_TCP_PORT, DEFAULT_TLS_PORT, defaultSocketDir, pkiFiles } from '../remote/paths';
import { DEFAULT_KEEPALIVE } from '../remote/rpc/keepalive';
import type { AuthScheme } from './auth/session-auth';
import { defaultUserDb } from './auth/user-db';
import type { AuthSettings, DaemonOptions } from './server';

/** Everything main needs: the daemon's options plus process-level settings. */
export interface DaemonSettings {
  daemon: DaemonOptions;
  pidFile?: string;
  stdio: boolean;
  readOnly: boolean;
}

/** Parsed config file: key -> string, number or list of strings. */
export type ConfigValues = Record<string, string | number | string[]>;

/** One double-quoted string with backslash escapes. */
const QUOTED = /"((?:[^"\\]|\\.)*)"/y;

/** Parses a value starting at `v` (already trimmed of the key): string, number or list. */
function parseValue(v: string): string | number | string[] | null {
  const unq = (q: string): string => q.replace(/\\(.)/g, '$1');
  const num = /^(-?[0-9]+)\s*(?:#.*)?$/.exec(v);
  if (num) return Number(num[1]);
  if (v.startsWith('"')) {
    QUOTED.lastIndex = 0;
    const m = QUOTED.exec(v);
    if (!m || !/^\s*(?:#.*)?$/.test(v.slice(QUOTED.lastIndex))) return null;
    return unq(m[1]);
  }
  if (!v.startsWith('[')) return null;
  // A list: ["a", "b"] (libvirtd.conf puts lists such as tls_allowed_dn_list on one line).
  const out: string[] = [];
  let i = 1;
  const skip = (): void => {
    while (i < v.length && /\s/.test(v[i])) i++;
  };
  skip();
  if (v[i] === ']') i++;
  else {
    for (;;) {
      skip();
      QUOTED.lastIndex = i;
      const m = QUOTED.exec(v);
      if (!m) return null;
      out.push(unq(m[1]));
      i = QUOTED.lastIndex;
      skip();
      if (v[i] === ',') {
        i++;
        continue;
      }
      if (v[i] === ']') {
        i++;
        break;
      }
      return null;
    }
  }
  return /^\s*(?:#.*)?$/.test(v.slice(i)) ? out : null;
}

/** Parses libvirtd.conf syntax; throws CONF errors naming the line. */
export function parseConfig(text: string, file = 'config'): ConfigValues {
  const out: ConfigValues = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/^\s+|\s+$/g, '');
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    const value = m ? parseValue(m[2]) : null;
    if (!m || value === null) {
      throw VirError.report(ErrorCode.PARSE_FAILED, ErrorDomain.CONF, `${file}:${i + 1}: expected key = "string", key = number or key = ["list", ...]`);
    }
    out[m[1]] = value;
  });
  return out;
}

const USAGE = `Usage: tsvirtd [options]
  --socket-dir DIR         put libvirt-sock (rw) and libvirt-sock-ro in DIR
  -f, --config FILE        libvirtd.conf-style configuration file
  -p, --pid-file FILE      write the daemon's pid to FILE
  --stdio                  serve one client on stdin/stdout (for ssh), then exit
  --readonly               with --stdio: the client gets a read-only connection
  -l, --listen             listen for TLS connections (port 16514, client certificates checked)
  --listen-tcp             also listen for plain, unencrypted TCP (port 16509)
  --listen-addr ADDR       address of the TCP/TLS listeners (default 0.0.0.0)
  --tls-port N, --tcp-port N
  --pki-path DIR           cacert.pem, servercert.pem, serverkey.pem in DIR
  --unix-sock-group GROUP  group of the sockets (read-write socket becomes 0660)
  --max-client-requests N  calls in flight per client (default 5)
  --sasl-db FILE           SASL (SCRAM-SHA-256) user database (config: sasl_user_db)
  config file: auth_unix_rw, auth_unix_ro, auth_tls ("none" or "sasl", default "none"),
               auth_tcp (default "sasl", which plain TCP cannot offer: set "none" explicitly),
               tls_allowed_dn_list, sasl_allowed_username_list (lists of glob patterns)
Manage SASL users: tsvirtd sasl-user add|delete|list [--sasl-db FILE] [NAME]
  (add reads the password from the first line of standard input)
  --keepalive-interval S, --keepalive-count N
  --log-level LEVEL, -v/--verbose, --log-file FILE
  -h, --help`;

/** The usage text. */
export function usage(): string {
  return USAGE;
}

function num(v: string | number | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, `invalid value '${v}' for ${what}`);
  return n;
}

function mode(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (!/^0?[0-7]{3}$/.test(s)) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, `invalid socket mode '${s}'`);
  return parseInt(s, 8);
}

/** Reads flags (and the config file they name) into settings. `--help` throws the usage. */
export function loadSettings(argv: string[], env: NodeJS.ProcessEnv = process.env): DaemonSettings {
  const flags: Record<string, string | true> = {};
  const alias: Record<string, string> = { '-f': '--config', '-p': '--pid-file', '-l': '--listen', '-v': '--verbose', '-h': '--help' };
  const boolFlags = new Set(['--stdio', '--readonly', '--listen', '--listen-tcp', '--verbose', '--help']);
  const known = new Set([...boolFlags, '--config', '--pid-file', '--socket-dir', '--listen-addr', '--tls-port', '--tcp-port', '--pki-path',
    '--unix-sock-group', '--max-client-requests', '--sasl-db', '--keepalive-interval', '--keepalive-count', '--log-level', '--log-file']);
  for (let i = 0; i < argv.length; i++) {
    let a = alias[argv[i]] ?? argv[i];
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (!a.startsWith('--')) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, `unexpected argument '${a}'\n${USAGE}`);
    if (!known.has(a)) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, `unknown option '${a}'\n${USAGE}`);
    if (boolFlags.has(a)) flags[a] = true;
    else {
      value ??= argv[++i];
      if (value === undefined) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, `option ${a} needs a value`);
      flags[a] = value;
    }
  }
  if (flags['--help']) throw Object.assign(new Error(USAGE), { usage: true });
  const str = (k: string): string | undefined => (typeof flags[k] === 'string' ? (flags[k] as string) : undefined);

  let conf: ConfigValues = {};
  const confFile = str('--config');
  if (confFile) {
    let text: string;
    try {
      text = fs.readFileSync(confFile, 'utf8');
    } catch (err) {
      throw VirError.report(ErrorCode.READ_FAILED, ErrorDomain.CONF, `${confFile}: ${(err as Error).message}`);
    }
    conf = parseConfig(text, confFile);
  }
  const c = (k: string): string | number | undefined => {
    const v = conf[k];
    if (Array.isArray(v)) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, `${k} takes a single value, not a list`);
    return v;
  };
  const list = (k: string): string[] | undefined => {
    const v = conf[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, `${k} takes a list, e.g. ${k} = ["pattern"]`);
    return v;
  };
  const scheme = (k: string): AuthScheme | undefined => {
    const v = c(k);
    if (v === undefined) return undefined;
    if (v !== 'none' && v !== 'sasl') throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.CONF, `${k} = "${v}": tsvirtd supports "none" and "sasl"`);
    return v;
  };
  const sasl = str('--sasl-db') ?? (c('sasl_user_db') as string | undefined) ?? defaultUserDb(env);
  const stdio = flags['--stdio'] === true;
  const listenAddr = str('--listen-addr') ?? (c('listen_addr') as string | undefined) ?? '0.0.0.0';
  const listenTls = flags['--listen'] === true || c('listen_tls') === 1;
  const listenTcp = flags['--listen-tcp'] === true || c('listen_tcp') === 1;
  const pkiPath = str('--pki-path');
  const serverPki = pkiFiles('server', pkiPath);
  const interval = num(str('--keepalive-interval') ?? c('keepalive_interval'), 'keepalive_interval');
  const count = num(str('--keepalive-count') ?? c('keepalive_count'), 'keepalive_count');

  const auth: Partial<AuthSettings> = {};
  for (const [key, field] of [['auth_unix_rw', 'unixRw'], ['auth_unix_ro', 'unixRo'], ['auth_tcp', 'tcp'], ['auth_tls', 'tls']] as const) {
    const v = scheme(key);
    if (v) auth[field] = v;
  }
  const daemon: DaemonOptions = {
    auth,
    sasl: { userDb: sasl, allowedUsers: list('sasl_allowed_username_list') },
    tlsAllowedDnList: list('tls_allowed_dn_list'),
    socketDir: stdio && !str('--socket-dir') ? undefined : (str('--socket-dir') ?? (c('unix_sock_dir') as string | undefined) ?? defaultSocketDir(env)),
    rwPerms: mode(c('unix_sock_rw_perms')),
    roPerms: mode(c('unix_sock_ro_perms')),
    group: str('--unix-sock-group') ?? (c('unix_sock_group') as string | undefined),
    tcp: listenTcp ? { host: listenAddr, port: num(str('--tcp-port') ?? c('tcp_port'), 'tcp_port') ?? DEFAULT_TCP_PORT } : undefined,
    tls: listenTls
      ? {
          host: listenAddr,
          port: num(str('--tls-port') ?? c('tls_port'), 'tls_port') ?? DEFAULT_TLS_PORT,
          files: {
            ca: (c('ca_file') as string | undefined) ?? serverPki.ca,
            cert: (c('cert_file') as string | undefined) ?? serverPki.cert,
            key: (c('key_file') as string | undefined) ?? serverPki.key,
          },
          verifyClient: c('tls_no_verify_certificate') !== 1,
        }
      : undefined,
    maxClients: num(c('max_clients'), 'max_clients'),
    maxClientRequests: num(str('--max-client-requests') ?? c('max_client_requests'), 'max_client_requests'),
    keepalive: {
      intervalMs: interval !== undefined ? interval * 1000 : DEFAULT_KEEPALIVE.intervalMs,
      count: count ?? DEFAULT_KEEPALIVE.count,
    },
    shutdownTimeoutMs: num(c('shutdown_timeout'), 'shutdown_timeout'),
  };
  return { daemon, pidFile: str('--pid-file') ?? (c('pid_file') as string | undefined), stdio, readOnly: flags['--readonly'] === true };
}
