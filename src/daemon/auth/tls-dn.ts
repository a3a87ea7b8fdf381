/**
 * libvirtd's `tls_allowed_dn_list`: a client certificate's subject Distinguished Name, written as
 * libvirt writes it (attributes in certificate order, `C=GB,ST=London,O=Example,CN=client`), must
 * match one of the glob patterns, or the client is dropped after the handshake.
 */
import { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { globMatch } from './session-auth';

/** The subject DN of a certificate, in libvirt's spelling. */
export function subjectDn(cert: X509Certificate): string {
  // Node lists the subject one attribute per line, in the certificate's order.
  return cert.subject
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const eq = l.indexOf('=');
      return `${l.slice(0, eq)}=${l.slice(eq + 1).replace(/([,+"\\<>;])/g, '\\$1')}`;
    })
    .join(',');
}

/**
 * Checks a TLS client against the allowed list. Returns the client's DN when it is allowed,
 * or null (no certificate, or a DN matching no pattern). An undefined list allows every
 * verified client, as libvirtd does when the setting is absent.
 */
export function checkAllowedDn(sock: tls.TLSSocket, allowed: readonly string[] | undefined): { ok: boolean; dn: string | null } {
  const cert = sock.getPeerX509Certificate();
  const dn = cert ? subjectDn(cert) : null;
  if (!allowed) return { ok: true, dn };
  return { ok: dn !== null && allowed.some((p) => globMatch(p, dn)), dn };
}
