/**
 * The client side of libvirt's SASL exchange with SCRAM-SHA-256 (AUTH_SASL_INIT, START, STEP),
 * so tsvirt's remote driver can log in to a tsvirtd (or a libvirtd offering SCRAM). As libvirt's
 * client, it refuses a mechanism without a security layer on a transport that is not secure.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { REMOTE_PROCEDURES as P } from '../../remote/protocol/table';
import {
  SCRAM_MAX_ITERATIONS,
  SCRAM_MECH,
  SCRAM_MIN_ITERATIONS,
  deriveKeys,
  encodeSaslName,
  hmac,
  makeNonce,
  parseAttributes,
  saltedPassword,
  xorBytes,
} from '../../remote/sasl/scram';
import type { Credentials } from './auth-file';
import type { RpcClient } from './rpc-client';

const failed = (why: string): VirError => VirError.report(ErrorCode.AUTH_FAILED, ErrorDomain.REMOTE, why);

/**
 * Authenticates `rpc` with SCRAM-SHA-256.
 * @param secure the transport is a UNIX socket or TLS
 */
export async function saslAuthenticate(rpc: RpcClient, cred: Credentials, secure: boolean): Promise<void> {
  const { mechlist } = await rpc.call(P.AUTH_SASL_INIT, undefined);
  const mechs = mechlist.split(/[\s,]+/).filter(Boolean);
  if (!mechs.includes(SCRAM_MECH)) throw failed(`no SASL mechanism in common with the server (it offers '${mechlist.slice(0, 200)}')`);
  if (!secure) throw failed(`${SCRAM_MECH} has no security layer and the transport is not encrypted`);
  if (!cred.authname || cred.password === undefined) throw failed('no SASL user name and password for this server in the auth file');
  const cnonce = makeNonce();
  const gs2 = 'n,,';
  const clientFirstBare = `n=${encodeSaslName(cred.authname)},r=${cnonce}`;
  const first = await rpc.call(P.AUTH_SASL_START, { mech: SCRAM_MECH, nil: 0, data: Buffer.from(gs2 + clientFirstBare, 'utf8') });
  if (first.complete) throw failed('server claims completion before the proof');
  const serverFirst = first.data.toString('utf8');
  const attrs = new Map(parseAttributes(serverFirst) ?? []);
  const nonce = attrs.get('r') ?? '';
  const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
  const iterations = Number(attrs.get('i'));
  if (!nonce.startsWith(cnonce) || nonce.length === cnonce.length || salt.length === 0) throw failed('malformed SCRAM server-first message');
  if (!Number.isInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS) {
    throw failed(`SCRAM iteration count ${attrs.get('i')} out of range`);
  }
  const keys = deriveKeys(saltedPassword(cred.password, salt, iterations));
  const withoutProof = `c=${Buffer.from(gs2).toString('base64')},r=${nonce}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const proof = xorBytes(keys.clientKey, hmac(keys.storedKey, authMessage));
  const final = await rpc.call(P.AUTH_SASL_STEP, { nil: 0, data: Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8') });
  const verifier = new Map(parseAttributes(final.data.toString('utf8')) ?? []).get('v');
  // Mutual authentication: the server proves it knows the stored keys, not only our answer.
  if (!final.complete || verifier !== hmac(keys.serverKey, authMessage).toString('base64')) throw failed('the server did not prove its identity');
}
