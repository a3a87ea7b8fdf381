/**
 * Credentials from libvirt's client auth file (auth.conf), the same file stock virsh reads, so
 * one file serves both tools:
 *
 *   [credentials-admin]
 *   authname=admin
 *   password=secret
 *   [auth-libvirt-localhost]
 *   credentials=admin
 *
 * Searched as libvirt does: $LIBVIRT_AUTH_FILE, the URI's `authfile` parameter,
 * $XDG_CONFIG_HOME/libvirt/auth.conf, /etc/libvirt/auth.conf.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { VirUri } from '../../util/uri';

/** A user name and password for one service on one host. */
export interface Credentials {
  authname?: string;
  password?: string;
}

/** The auth file a connection to `uri` uses, or undefined when none exists. */
export function authFilePath(uri: VirUri, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.LIBVIRT_AUTH_FILE) return env.LIBVIRT_AUTH_FILE;
  if (uri.query.authfile) return uri.query.authfile;
  const user = path.join(env.XDG_CONFIG_HOME ?? path.join(env.HOME ?? os.homedir(), '.config'), 'libvirt', 'auth.conf');
  for (const f of [user, '/etc/libvirt/auth.conf']) if (fs.existsSync(f)) return f;
  return undefined;
}

/** Parses the key-file syntax: `[group]` headers and `key=value` lines. */
function parseKeyFile(text: string): Map<string, Map<string, string>> {
  const groups = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const g = /^\[(.+)\]$/.exec(line);
    if (g) {
      current = new Map();
      groups.set(g[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0 && current) current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return groups;
}

/**
 * The credentials for `service` on `host` from `file`: the `auth-SERVICE-HOST` group, else
 * `auth-SERVICE-default`, names a `credentials-NAME` group. Unreadable files give none.
 */
export function lookupCredentials(file: string, service: string, host: string): Credentials {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const groups = parseKeyFile(text);
  const auth = groups.get(`auth-${service}-${host}`) ?? groups.get(`auth-${service}-default`);
  const name = auth?.get('credentials');
  const cred = name ? groups.get(`credentials-${name}`) : undefined;
  return { authname: cred?.get('username') ?? cred?.get('authname'), password: cred?.get('password') };
}
