/** Certificates for TLS tests, made with openssl: a CA, and server/client certificates it signs. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const KEY = 'openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';

function sh(cmd: string, cwd: string): void {
  execFileSync('bash', ['-c', cmd], { cwd, stdio: 'pipe' });
}

/** Makes `dir/cacert.pem` + `dir/cakey.pem`, a self-signed CA with subject `subj`. */
export function makeCa(dir: string, subj: string): void {
  fs.mkdirSync(dir, { recursive: true });
  sh(`${KEY} -x509 -days 1 -subj '${subj}' -keyout cakey.pem -out cacert.pem`, dir);
}

/**
 * Makes `dir/NAMEcert.pem` + `dir/NAMEkey.pem` signed by the CA in `caDir`, with subject `subj`
 * (openssl's `/C=GB/O=x/CN=y` form, kept in that order) and subjectAltName `san`.
 */
export function signCert(caDir: string, dir: string, name: string, subj: string, san: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const ca = path.join(caDir, 'ca');
  sh(`${KEY} -subj '${subj}' -keyout ${name}key.pem -out ${name}.csr`, dir);
  sh(
    `openssl x509 -req -in ${name}.csr -CA ${ca}cert.pem -CAkey ${ca}key.pem -CAcreateserial -days 1 -out ${name}cert.pem -extfile <(printf "subjectAltName=${san}")`,
    dir,
  );
}

/**
 * A libvirt pki directory for one side: cacert.pem from `caDir` and the named certificate as
 * `{side}cert.pem` / `{side}key.pem`, which is what `?pkipath=` and `--pki-path` expect.
 */
export function pkiDir(caDir: string, certDir: string, name: string, side: 'client' | 'server', out: string): string {
  fs.mkdirSync(out, { recursive: true });
  fs.copyFileSync(path.join(caDir, 'cacert.pem'), path.join(out, 'cacert.pem'));
  fs.copyFileSync(path.join(certDir, `${name}cert.pem`), path.join(out, `${side}cert.pem`));
  fs.copyFileSync(path.join(certDir, `${name}key.pem`), path.join(out, `${side}key.pem`));
  return out;
}
