/**
 * One client's authentication state, as libvirtd keeps it: the scheme its listener requires
 * (`auth_unix_rw`, `auth_unix_ro`, `auth_tcp`, `auth_tls`), and for SASL the exchange in
 * progress. Until the client has authenticated, only the AUTH_* procedures are served.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import { VirError } from '../../util/vir-error';
import { RemoteAuthType } from '../../remote/protocol/constants';
import { SCRAM_MECH } from '../../remote/sasl/scram';
import { ScramFailure, ScramServer, type ScramReply } from './scram-server';
import { lookupUser } from './user-db';

const log = moduleLogger('tsvirtd-auth');

/** The schemes tsvirtd implements (libvirtd's "polkit" is not one of them). */
export type AuthScheme = 'none' | 'sasl';

/** What SASL authentication checks. */
export interface SaslSettings {
  /** The user database (see user-db.ts). */
  userDb: string;
  /** libvirtd's sasl_allowed_username_list: glob patterns; undefined allows every user. */
  allowedUsers?: readonly string[];
}

/** Failed exchanges after which a client may not try again on the same connection. */
export const MAX_AUTH_FAILURES = 3;

/** Matches `value` against a glob with `*` and `?` (libvirt matches these lists with fnmatch). */
export function globMatch(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(value);
}

/** libvirt's reply to every failed authentication step: the reason stays in the daemon's log. */
function authFailed(): VirError {
  return VirError.report(ErrorCode.AUTH_FAILED, ErrorDomain.RPC);
}

/** The per-client authentication state. */
export class SessionAuth {
  private done: boolean;
  private exchange: ScramServer | null = null;
  private started = false;
  private failures = 0;
  /** The SASL user name once authenticated. */
  username: string | undefined;

  /**
   * @param scheme what the client's listener requires
   * @param secure the transport is a UNIX socket or TLS (SCRAM has no security layer of its own)
   * @param sasl the SASL settings (required when scheme is "sasl")
   * @param peer label for the log
   */
  constructor(
    readonly scheme: AuthScheme,
    private readonly secure: boolean,
    private readonly sasl: SaslSettings | undefined,
    private readonly peer: string,
  ) {
    this.done = scheme === 'none';
  }

  /** True once the client may call anything. */
  get authenticated(): boolean {
    return this.done;
  }

  /** AUTH_LIST: the one scheme this listener requires. */
  list(): number[] {
    return [this.scheme === 'sasl' ? RemoteAuthType.SASL : RemoteAuthType.NONE];
  }

  private fail(why: string): VirError {
    this.failures++;
    this.exchange = null;
    this.started = false;
    log.warn({ peer: this.peer, why, failures: this.failures }, 'SASL authentication failed');
    return authFailed();
  }

  /** AUTH_SASL_INIT: starts an exchange and lists the mechanisms this transport allows. */
  saslInit(): string {
    // As libvirtd: INIT is refused when SASL is not this listener's scheme, when the client is
    // already authenticated (a replayed exchange), or while one is in progress.
    if (this.scheme !== 'sasl' || this.done || this.exchange) throw this.fail('unexpected SASL init');
    if (this.failures >= MAX_AUTH_FAILURES) throw this.fail('too many failed attempts on this connection');
    const db = this.sasl?.userDb;
    if (!db) throw this.fail('no SASL user database configured');
    this.exchange = new ScramServer((user) => lookupUser(db, user));
    this.started = false;
    // SCRAM-SHA-256 has no security layer: on plain TCP it would send every later call in clear
    // text after authenticating, so libvirtd's rule (SSF >= 56 there) leaves no mechanism.
    return this.secure ? SCRAM_MECH : '';
  }

  /** AUTH_SASL_START: client-first message in, server-first out. */
  saslStart(mech: string, data: Buffer | null): ScramReply {
    const ex = this.exchange;
    if (!ex || this.started) throw this.fail('SASL start without init');
    if (mech !== SCRAM_MECH || !this.secure) throw this.fail(`mechanism '${mech.slice(0, 64)}' not offered`);
    if (!data) throw this.fail('SASL start without client data');
    this.started = true;
    return this.run(() => ex.start(data));
  }

  /** AUTH_SASL_STEP: client-final message in, server-final out (authenticated on success). */
  saslStep(data: Buffer | null): ScramReply {
    const ex = this.exchange;
    if (!ex || !this.started) throw this.fail('SASL step without start');
    if (!data) throw this.fail('SASL step without client data');
    const reply = this.run(() => ex.step(data));
    const user = ex.username as string;
    const allowed = this.sasl?.allowedUsers;
    if (allowed && !allowed.some((p) => globMatch(p, user))) throw this.fail(`user '${user}' not in sasl_allowed_username_list`);
    this.exchange = null;
    this.done = true;
    this.username = user;
    log.info({ peer: this.peer, user }, 'client authenticated with SASL');
    return reply;
  }

  private run(step: () => ScramReply): ScramReply {
    try {
      return step();
    } catch (err) {
      if (err instanceof ScramFailure || err instanceof VirError) throw this.fail(err.message);
      throw this.fail(`internal error: ${(err as Error).message}`);
    }
  }
}
