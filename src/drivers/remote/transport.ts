/**
 * Opens the byte stream a remote URI names: a UNIX socket, TCP, TLS (Node's tls with the
 * client certificate files in libvirt's places), or the pipes of an `ssh` (or `ext`) child
 * that runs `tsvirtd --stdio` or `nc -U socket` on the far end.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import type { VirUri } from '../../util/uri';
import { VirError } from '../../util/vir-error';
import { DEFAULT_TCP_PORT, DEFAULT_TLS_PORT, RO_SOCKET_NAME, RW_SOCKET_NAME, defaultSocketDir, pkiFiles } from '../../remote/paths';

/** The query parameters the remote driver consumes; every other one is passed to the daemon. */
export const REMOTE_URI_PARAMS = new Set([
  'name',
  'authfile',
  'command',
  'socket',
  'auth',
  'netcat',
  'keyfile',
  'no_verify',
  'no_tty',
  'pkipath',
  'known_hosts',
  'known_hosts_verify',
  'sshauth',
  'tls_priority',
  'mode',
  'proxy',
  'tsvirtd',
]);

/** Connects a socket and resolves once it is connected, or rejects with libvirt's message. */
function connectSocket(sock: net.Socket, what: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(VirError.plain(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `Failed to connect socket to '${what}': ${err.message}`));
    };
    sock.once('error', onError);
    sock.once(sock instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => {
      sock.off('error', onError);
      sock.setNoDelay?.(true);
      resolve(sock);
    });
  });
}

/**
 * Waits for libvirt's TLS confirmation: once the server has checked the client's certificate
 * (and its DN list) it sends one byte, 1; a server that refused the client closes instead.
 */
function awaitTlsConfirmation(sock: Duplex): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const refused = (): void => {
      sock.destroy();
      reject(VirError.plain(ErrorCode.RPC, ErrorDomain.RPC, 'server verification (of our certificate or IP address) failed'));
    };
    const onData = (chunk: Buffer): void => {
      sock.off('close', refused);
      sock.off('error', refused);
      sock.pause();
      if (chunk[0] !== 1) {
        refused();
        return;
      }
      if (chunk.length > 1) sock.unshift(chunk.subarray(1));
      resolve(sock);
    };
    sock.once('data', onData);
    sock.once('close', refused);
    sock.once('error', refused);
  });
}

function readPki(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw VirError.plain(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `Cannot read ${what} '${file}': ${(err as Error).message}`);
  }
}

/** Shell-quotes one word for the remote command line. */
function shq(s: string): string {
  return /^[A-Za-z0-9_./=:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs a command whose stdin/stdout carry the protocol. When the child fails, the stream fails
 * with the child's stderr ("ssh: Could not resolve hostname ..."), never with the broken pipe or
 * early EOF its death causes first: the verdict waits for the child's 'close', which comes after
 * its exit and the end of all its output.
 */
function childStream(cmd: string, args: string[]): Duplex {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  // Write failures are the symptom of the child's death; the 'close' handler reports the cause.
  child.stdin.on('error', () => undefined);
  const stream = new Duplex({
    read() {
      child.stdout.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (child.stdin.destroyed || child.exitCode !== null) return cb();
      child.stdin.write(chunk, () => cb());
    },
    final(cb) {
      child.stdin.end();
      cb();
    },
    destroy(err, cb) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      cb(err);
    },
  });
  child.stdout.on('data', (d: Buffer) => {
    if (!stream.push(d)) child.stdout.pause();
  });
  child.on('error', (err) => stream.destroy(err));
  child.on('close', (code, signal) => {
    if (stream.destroyed) return;
    if (code !== 0) stream.destroy(new Error(stderr.trim() || `${cmd} exited with ${signal ?? `status ${code}`}`));
    else stream.push(null);
  });
  return stream;
}

/** Opens the transport for `uri` (already known to be remote). */
export async function openTransport(uri: VirUri, transport: string, readOnly: boolean): Promise<Duplex> {
  const q = uri.query;
  switch (transport) {
    case 'unix': {
      const sock = q.socket ?? path.join(defaultSocketDir(), readOnly ? RO_SOCKET_NAME : RW_SOCKET_NAME);
      return connectSocket(net.createConnection(sock), sock);
    }
    case 'tcp': {
      const host = uri.host ?? 'localhost';
      const port = uri.port ?? DEFAULT_TCP_PORT;
      return connectSocket(net.createConnection({ host, port }), `${host}:${port}`);
    }
    case 'tls': {
      const host = uri.host ?? 'localhost';
      const port = uri.port ?? DEFAULT_TLS_PORT;
      const files = pkiFiles('client', q.pkipath);
      const noVerify = q.no_verify === '1';
      const sock = tls.connect({
        host,
        port,
        servername: net.isIP(host) ? undefined : host,
        ca: readPki(files.ca, 'CA certificate'),
        cert: readPki(files.cert, 'client certificate'),
        key: readPki(files.key, 'client key'),
        rejectUnauthorized: !noVerify,
        // With an IP host the certificate is checked against the CA only, as libvirt does.
        checkServerIdentity: (name, cert) => (noVerify || net.isIP(host) ? undefined : tls.checkServerIdentity(name, cert)),
      });
      return awaitTlsConfirmation(await connectSocket(sock, `${host}:${port}`));
    }
    case 'ssh': {
      if (!uri.host) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.REMOTE, 'ssh transport requires a host');
      const args: string[] = [];
      if (uri.port !== undefined) args.push('-p', String(uri.port));
      if (uri.user !== undefined) args.push('-l', uri.user);
      if (q.keyfile) args.push('-i', q.keyfile);
      if (q.no_tty === '1') args.push('-o', 'BatchMode=yes');
      if (q.known_hosts) args.push('-o', `UserKnownHostsFile=${q.known_hosts}`);
      args.push('-T', '-e', 'none', '--', uri.host);
      if (q.netcat !== undefined || q.proxy === 'netcat') {
        const sock = q.socket ?? `/var/run/libvirt/${readOnly ? RO_SOCKET_NAME : RW_SOCKET_NAME}`;
        args.push(`${shq(q.netcat || 'nc')} -U ${shq(sock)}`);
      } else {
        args.push(`${shq(q.tsvirtd ?? 'tsvirtd')} --stdio${readOnly ? ' --readonly' : ''}`);
      }
      return childStream(q.command ?? 'ssh', args);
    }
    case 'ext': {
      if (!q.command) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.REMOTE, 'remote command required for ext transport');
      return childStream('/bin/sh', ['-c', q.command]);
    }
    default:
      throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.REMOTE, `transport '${transport}' is not supported`);
  }
}

/**
 * The name sent in CONNECT_OPEN, as libvirt's remote driver builds it: the hypervisor scheme
 * and path, without transport, user, host and port, keeping the query parameters the remote
 * driver does not consume (e.g. a test driver's `chunk_delay_ms`). `?name=` overrides it.
 */
export function nameForDaemon(uri: VirUri): string {
  if (uri.query.name !== undefined) return uri.query.name;
  const kept = uri.params.filter(([k]) => !REMOTE_URI_PARAMS.has(k));
  const query = kept.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return `${uri.driver}://${uri.path}${query ? `?${query}` : ''}`;
}
