/**
 * The remote connection driver: claims every URI naming a transport or a host, opens the
 * transport, runs the handshake stock clients run (auth list, keepalive feature, open), and
 * hands the public layer a RemoteHypervisor.
 */
import type { ConnectionDriver, OpenOptions, OpenResult } from '../connection-driver';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { effectiveTransport, type VirUri } from '../../util/uri';
import { VirError } from '../../util/vir-error';
import { DrvFeature, RemoteAuthType, VIR_CONNECT_RO } from '../../remote/protocol/constants';
import { REMOTE_PROCEDURES as P } from '../../remote/protocol/table';
import { DEFAULT_KEEPALIVE, type KeepaliveOptions } from '../../remote/rpc/keepalive';
import { authFilePath, lookupCredentials, type Credentials } from './auth-file';
import { RemoteHypervisor } from './remote-hypervisor';
import { saslAuthenticate } from './sasl-client';
import { RpcClient } from './rpc-client';
import { nameForDaemon, openTransport } from './transport';

/**
 * Keepalive timing for new remote connections: `TSVIRT_KEEPALIVE_INTERVAL_MS` and
 * `TSVIRT_KEEPALIVE_COUNT` override libvirt's 5 s x 5 (tests use short ones).
 */
export function clientKeepalive(env: NodeJS.ProcessEnv = process.env): KeepaliveOptions {
  const interval = Number(env.TSVIRT_KEEPALIVE_INTERVAL_MS);
  const count = Number(env.TSVIRT_KEEPALIVE_COUNT);
  return {
    intervalMs: Number.isFinite(interval) && interval > 0 ? interval : DEFAULT_KEEPALIVE.intervalMs,
    count: Number.isInteger(count) && count > 0 ? count : DEFAULT_KEEPALIVE.count,
  };
}

/** How the handshake authenticates, when the daemon asks for it. */
export interface HandshakeAuth {
  /** Looks the SASL credentials up (only called when the daemon requires SASL). */
  credentials(): Credentials;
  /** The transport is a UNIX socket or TLS. */
  secure: boolean;
}

/** Runs libvirt's client handshake on a fresh RPC connection. */
export async function remoteHandshake(rpc: RpcClient, name: string, readOnly: boolean, auth?: HandshakeAuth): Promise<void> {
  const { types } = await rpc.call(P.AUTH_LIST, undefined);
  if (types.length > 0 && !types.includes(RemoteAuthType.NONE)) {
    if (!types.includes(RemoteAuthType.SASL) || !auth) {
      throw VirError.report(ErrorCode.AUTH_FAILED, ErrorDomain.REMOTE, `unsupported authentication type ${types[0]}`);
    }
    await saslAuthenticate(rpc, auth.credentials(), auth.secure);
  }
  const { supported } = await rpc.call(P.CONNECT_SUPPORTS_FEATURE, { feature: DrvFeature.PROGRAM_KEEPALIVE });
  if (supported) rpc.startKeepalive();
  await rpc.call(P.CONNECT_OPEN, { name, flags: readOnly ? VIR_CONNECT_RO : 0 });
}

/** Opens a remote connection for `uri` (which names a transport or host). */
export async function openRemote(uri: VirUri, options: OpenOptions): Promise<RemoteHypervisor> {
  const stream = await openTransport(uri, effectiveTransport(uri), options.readOnly);
  const rpc = new RpcClient(stream, clientKeepalive());
  try {
    const transport = effectiveTransport(uri);
    const auth: HandshakeAuth = {
      secure: transport === 'unix' || transport === 'tls',
      credentials: () => {
        const file = authFilePath(uri);
        return file ? lookupCredentials(file, 'libvirt', uri.host ?? 'localhost') : {};
      },
    };
    await remoteHandshake(rpc, nameForDaemon(uri), options.readOnly, auth);
  } catch (err) {
    await rpc.close();
    throw VirError.from(err, ErrorDomain.REMOTE);
  }
  return new RemoteHypervisor(rpc, uri.raw);
}

/**
 * The remote connection driver. Unlike libvirt's, it does not claim local URIs that no local
 * driver serves (libvirt would try the local daemon's socket): such URIs get NO_CONNECT, and a
 * daemon is reached by naming the transport (`test+unix:///default`).
 */
export const remoteConnectionDriver: ConnectionDriver = {
  name: 'remote',
  remoteOnly: true,
  async open(uri: VirUri | undefined, options: OpenOptions): Promise<OpenResult> {
    if (!uri) return { status: 'declined' };
    return { status: 'success', driver: await openRemote(uri, options) };
  },
};
