/**
 * The server side of one SCRAM-SHA-256 exchange (RFC 5802 / 7677), as a two-step state machine:
 * `start` takes client-first and answers server-first, `step` takes client-final and answers
 * server-final. Channel binding is not offered (libvirt's clients never use it). An unknown user
 * is answered with a salt derived from a per-daemon secret, so the exchange looks the same as
 * for a known user and fails only at the proof: the wire does not tell which names exist.
 */
import crypto from 'node:crypto';
import {
  SCRAM_MAX_ITERATIONS,
  decodeSaslName,
  hmac,
  isPrintableNonce,
  makeNonce,
  parseAttributes,
  sha256,
  xorBytes,
  type ScramStoredKeys,
} from '../../remote/sasl/scram';

/** Why an exchange failed; the client only ever hears "authentication failed". */
export class ScramFailure extends Error {}

/** Per-process secret behind the decoy salts of unknown users. */
const DECOY_SECRET = crypto.randomBytes(32);

function decoyKeys(user: string): ScramStoredKeys {
  const seed = hmac(DECOY_SECRET, user);
  return { salt: seed.subarray(0, 16), iterations: 4096, storedKey: sha256(seed), serverKey: hmac(seed, 'decoy') };
}

/** What one step answers. */
export interface ScramReply {
  data: Buffer;
  complete: boolean;
}

/** One authentication attempt. */
export class ScramServer {
  private state: 'start' | 'final' | 'done' = 'start';
  private user = '';
  private keys: ScramStoredKeys | undefined;
  private known = false;
  private gs2Header = '';
  private nonce = '';
  private clientFirstBare = '';
  private serverFirst = '';

  /** @param lookup finds a user's stored keys (undefined for an unknown user) */
  constructor(private readonly lookup: (user: string) => ScramStoredKeys | undefined) {}

  /** The authenticated user, once the exchange completed. */
  get username(): string | undefined {
    return this.state === 'done' ? this.user : undefined;
  }

  /** Takes client-first-message, answers server-first-message. */
  start(clientFirst: Buffer): ScramReply {
    if (this.state !== 'start') throw new ScramFailure('exchange already started');
    this.state = 'final';
    const text = clientFirst.toString('utf8');
    // gs2-header: "n," (no channel binding) or "y," (client could but thinks we cannot), then an
    // optional authzid "a=..." and ','. "p=" asks for channel binding, which is not offered.
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
    if (!m) throw new ScramFailure('malformed client-first message (or channel binding requested)');
    const [, , authzid, bare] = m;
    const attrs = parseAttributes(bare);
    if (!attrs || attrs.length < 2 || attrs[0][0] !== 'n' || attrs[1][0] !== 'r') throw new ScramFailure('malformed client-first message');
    if (attrs.some(([k]) => k === 'm')) throw new ScramFailure('mandatory extension not supported');
    const user = decodeSaslName(attrs[0][1]);
    if (!user || user.length > 255 || /[\x00-\x1f\x7f]/.test(user)) throw new ScramFailure('invalid user name');
    if (authzid !== undefined && decodeSaslName(authzid.slice(2)) !== user) throw new ScramFailure('authorization identity differs from the user');
    if (!isPrintableNonce(attrs[1][1])) throw new ScramFailure('invalid client nonce');
    this.user = user;
    const found = this.lookup(user);
    this.known = found !== undefined;
    this.keys = found ?? decoyKeys(user);
    if (this.keys.iterations > SCRAM_MAX_ITERATIONS) throw new ScramFailure('stored iteration count out of range');
    this.gs2Header = text.slice(0, text.length - bare.length);
    this.clientFirstBare = bare;
    this.nonce = attrs[1][1] + makeNonce();
    this.serverFirst = `r=${this.nonce},s=${this.keys.salt.toString('base64')},i=${this.keys.iterations}`;
    return { data: Buffer.from(this.serverFirst, 'utf8'), complete: false };
  }

  /** Takes client-final-message, checks the proof, answers server-final-message. */
  step(clientFinal: Buffer): ScramReply {
    if (this.state !== 'final' || !this.keys) throw new ScramFailure('no exchange in progress');
    // Whatever happens below, this exchange is over: a second client-final is never checked.
    this.state = 'start';
    const text = clientFinal.toString('utf8');
    const attrs = parseAttributes(text);
    if (!attrs || attrs.length < 3) throw new ScramFailure('malformed client-final message');
    const [c, r] = attrs;
    const p = attrs[attrs.length - 1];
    if (c[0] !== 'c' || r[0] !== 'r' || p[0] !== 'p') throw new ScramFailure('malformed client-final message');
    if (Buffer.from(c[1], 'base64').toString('utf8') !== this.gs2Header) throw new ScramFailure('channel binding data differs');
    if (r[1] !== this.nonce) throw new ScramFailure('nonce differs');
    const withoutProof = text.slice(0, text.length - p[1].length - 3);
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const proof = Buffer.from(p[1], 'base64');
    if (proof.length !== 32) throw new ScramFailure('malformed proof');
    const clientKey = xorBytes(proof, hmac(this.keys.storedKey, authMessage));
    const ok = crypto.timingSafeEqual(sha256(clientKey), this.keys.storedKey);
    if (!ok || !this.known) throw new ScramFailure(this.known ? 'wrong password' : 'unknown user');
    this.state = 'done';
    const serverSignature = hmac(this.keys.serverKey, authMessage);
    return { data: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'), complete: true };
  }
}
