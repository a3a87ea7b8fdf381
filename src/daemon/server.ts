/**
 * tsvirtd's listeners: a read-write and a read-only UNIX socket (libvirt's names and modes),
 * an optional TLS listener checking client certificates, plain TCP only when asked, and any
 * stream handed in (`--stdio`). Every client becomes a ClientSession; the daemon serves
 * whatever drivers are registered, naming none.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { ErrorCode, ErrorDomain } from '../util/error-codes';
import { moduleLogger } from '../util/logger';
import { VirError } from '../util/vir-error';
import { DEFAULT_KEEPALIVE, type KeepaliveOptions } from '../remote/rpc/keepalive';
import { RO_SOCKET_NAME, RW_SOCKET_NAME, type PkiFiles } from '../remote/paths';
import { SessionAuth, type AuthScheme, type SaslSettings } from './auth/session-auth';
import { checkAllowedDn } from './auth/tls-dn';
import { ClientSession } from './session';

const log = moduleLogger('tsvirtd');

/** TLS listener settings. */
export interface TlsListenOptions {
  host: string;
  port: number;
  files: PkiFiles;
  /** Require and verify a client certificate signed by the CA (libvirtd's default). */
  verifyClient: boolean;
}

/** The authentication scheme of each kind of listener (libvirtd's auth_* settings). */
export interface AuthSettings {
  unixRw: AuthScheme;
  unixRo: AuthScheme;
  tcp: AuthScheme;
  tls: AuthScheme;
}

/** libvirtd's defaults without polkit: none on UNIX sockets and TLS, SASL on plain TCP. */
export const DEFAULT_AUTH: AuthSettings = { unixRw: 'none', unixRo: 'none', tcp: 'sasl', tls: 'none' };

/** Daemon settings (from flags and the config file). */
export interface DaemonOptions {
  /** Per-listener authentication; unset entries take DEFAULT_AUTH's. */
  auth?: Partial<AuthSettings>;
  /** SASL settings, required when any listener uses "sasl". */
  sasl?: SaslSettings;
  /** libvirtd's tls_allowed_dn_list: glob patterns of client certificate DNs. */
  tlsAllowedDnList?: readonly string[];
  /** Directory of `libvirt-sock` and `libvirt-sock-ro`; no UNIX sockets when undefined. */
  socketDir?: string;
  /** Mode of the read-write socket: 0600, or 0660 with a group. */
  rwPerms?: number;
  /** Mode of the read-only socket. */
  roPerms?: number;
  /** Group owning both sockets (name or gid). */
  group?: string | number;
  /** Plain TCP listener: only when explicitly enabled. */
  tcp?: { host: string; port: number };
  tls?: TlsListenOptions;
  /** Most clients at once; more are refused at accept. */
  maxClients?: number;
  /** Ordinary calls in flight per client (libvirtd's max_client_requests). */
  maxClientRequests?: number;
  keepalive?: KeepaliveOptions;
  /** How long shutdown waits for aborted jobs to answer. */
  shutdownTimeoutMs?: number;
}

/** Where a started daemon listens. */
export interface DaemonAddresses {
  rwSocket?: string;
  roSocket?: string;
  tcpPort?: number;
  tlsPort?: number;
}

function resolveGid(group: string | number): number {
  if (typeof group === 'number') return group;
  if (/^[0-9]+$/.test(group)) return Number(group);
  try {
    const line = execFileSync('getent', ['group', group], { encoding: 'utf8' });
    return Number(line.split(':')[2]);
  } catch {
    throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.RPC, `unknown group '${group}'`);
  }
}

/** Removes a stale socket file; refuses when a daemon still answers on it. */
async function clearStaleSocket(file: string): Promise<void> {
  if (!fs.existsSync(file)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = net.createConnection(file);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw VirError.report(ErrorCode.OPERATION_FAILED, ErrorDomain.RPC, `a daemon is already listening on '${file}'`);
  fs.unlinkSync(file);
}

function listen(server: net.Server, ...args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    (server.listen as (...a: unknown[]) => void)(...args, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A running daemon. */
export class Daemon {
  private readonly sessions = new Set<ClientSession>();
  private readonly servers: net.Server[] = [];
  private readonly socketFiles: string[] = [];
  readonly addresses: DaemonAddresses = {};
  private stopping: Promise<void> | null = null;

  private readonly auth: AuthSettings;

  private constructor(private readonly opts: DaemonOptions) {
    this.auth = { ...DEFAULT_AUTH, ...opts.auth };
  }

  /**
   * Refuses settings libvirtd would refuse or that would leave a listener open to anyone by
   * accident: plain TCP with SASL (tsvirtd's only mechanism, SCRAM-SHA-256, has no security
   * layer), or SASL without a user database.
   */
  private checkAuth(): void {
    const conf = (msg: string): VirError => VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.RPC, msg);
    for (const [k, v] of Object.entries(this.auth)) {
      if (v !== 'none' && v !== 'sasl') throw conf(`auth scheme '${String(v)}' for ${k} is not supported (none, sasl)`);
    }
    if (this.opts.tcp && this.auth.tcp === 'sasl') {
      throw conf(
        'auth_tcp = "sasl" needs a SASL mechanism with a security layer and tsvirtd\'s SCRAM-SHA-256 has none: ' +
          'use the TLS listener (auth_tls = "sasl"), or set auth_tcp = "none" to serve plain TCP without authentication',
      );
    }
    if (this.opts.tcp && this.auth.tcp === 'none') {
      log.warn('plain TCP listener without authentication: anyone who reaches the port controls the daemon');
      process.stderr.write('tsvirtd: warning: plain TCP listener with auth_tcp = "none": no authentication, no encryption\n');
    }
    const used = (this.opts.socketDir && (this.auth.unixRw === 'sasl' || this.auth.unixRo === 'sasl')) || (this.opts.tls && this.auth.tls === 'sasl');
    if (used && !this.opts.sasl?.userDb) throw conf('SASL authentication needs a user database (sasl_user_db)');
  }

  /** Starts every configured listener. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const d = new Daemon(opts);
    try {
      d.checkAuth();
      await d.listenAll();
    } catch (err) {
      await d.stop();
      throw VirError.from(err, ErrorDomain.RPC);
    }
    return d;
  }

  /** Clients connected now. */
  get clientCount(): number {
    return this.sessions.size;
  }

  /** Serves one already-connected stream (stdio mode, tests). */
  serveStream(stream: Duplex, how: { readOnly: boolean; secure: boolean; peer: string; auth?: AuthScheme }): ClientSession {
    const auth = new SessionAuth(how.auth ?? 'none', how.secure, this.opts.sasl, how.peer);
    const s = new ClientSession(stream, {
      ...how,
      auth,
      maxRequests: this.opts.maxClientRequests ?? 5,
      keepalive: this.opts.keepalive ?? DEFAULT_KEEPALIVE,
    });
    this.sessions.add(s);
    s.onClose(() => this.sessions.delete(s));
    return s;
  }

  private accept(sock: net.Socket, readOnly: boolean, secure: boolean, peer: string, auth: AuthScheme): void {
    if (this.stopping || this.sessions.size >= (this.opts.maxClients ?? 5000)) {
      log.warn({ peer }, 'client refused: too many clients or shutting down');
      sock.destroy();
      return;
    }
    sock.setNoDelay?.(true);
    this.serveStream(sock, { readOnly, secure, peer, auth });
  }

  private async listenAll(): Promise<void> {
    const o = this.opts;
    if (o.socketDir) {
      fs.mkdirSync(o.socketDir, { recursive: true, mode: 0o755 });
      const gid = o.group !== undefined ? resolveGid(o.group) : undefined;
      const rwMode = o.rwPerms ?? (gid !== undefined ? 0o660 : 0o600);
      for (const [name, readOnly, mode] of [
        [RW_SOCKET_NAME, false, rwMode],
        [RO_SOCKET_NAME, true, o.roPerms ?? 0o666],
      ] as const) {
        const file = path.join(o.socketDir, name);
        await clearStaleSocket(file);
        const scheme = readOnly ? this.auth.unixRo : this.auth.unixRw;
        const srv = net.createServer((sock) => this.accept(sock, readOnly, true, file, scheme));
        // The socket is created with a restrictive umask and opened up afterwards, so it is
        // never reachable with wider permissions than configured.
        const oldMask = process.umask(0o077);
        try {
          await listen(srv, file);
        } finally {
          process.umask(oldMask);
        }
        this.servers.push(srv);
        this.socketFiles.push(file);
        if (gid !== undefined) fs.chownSync(file, -1, gid);
        fs.chmodSync(file, mode);
        if (readOnly) this.addresses.roSocket = file;
        else this.addresses.rwSocket = file;
      }
    }
    if (o.tcp) {
      const srv = net.createServer((sock) => this.accept(sock, false, false, `${sock.remoteAddress}:${sock.remotePort}`, this.auth.tcp));
      await listen(srv, o.tcp.port, o.tcp.host);
      this.servers.push(srv);
      this.addresses.tcpPort = (srv.address() as net.AddressInfo).port;
    }
    if (o.tls) {
      const t = o.tls;
      const srv = tls.createServer(
        {
          ca: fs.readFileSync(t.files.ca),
          cert: fs.readFileSync(t.files.cert),
          key: fs.readFileSync(t.files.key),
          requestCert: t.verifyClient,
          rejectUnauthorized: t.verifyClient,
        },
        (sock) => {
          const peer = `${sock.remoteAddress}:${sock.remotePort}`;
          const { ok, dn } = checkAllowedDn(sock, this.opts.tlsAllowedDnList);
          if (!ok) {
            // As libvirtd: the handshake completed, but the DN is not on the list.
            log.warn({ peer, dn }, "client's Distinguished Name is not on the list of allowed clients (tls_allowed_dn_list)");
            sock.destroy();
            return;
          }
          // libvirt's clients wait for this byte: the server accepted their certificate.
          sock.write(Buffer.from([1]));
          this.accept(sock, false, true, peer, this.auth.tls);
        },
      );
      srv.on('tlsClientError', (err) => log.info({ err: err.message }, 'TLS handshake with a client failed'));
      await listen(srv, t.port, t.host);
      this.servers.push(srv);
      this.addresses.tlsPort = (srv.address() as net.AddressInfo).port;
    }
  }

  /**
   * Shuts down: stops accepting, aborts the domain jobs clients started (guests keep running),
   * waits for their calls to answer, then closes every client and removes the sockets.
   */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    // A server's close callback waits for its connections, which end below.
    const closed = this.servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    const sessions = [...this.sessions];
    await Promise.all(sessions.map((s) => s.abortJobs()));
    await Promise.all(sessions.map((s) => s.drain(this.opts.shutdownTimeoutMs ?? 10000)));
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(closed);
    for (const f of this.socketFiles) fs.rmSync(f, { force: true });
    log.info('daemon stopped');
  }
}
