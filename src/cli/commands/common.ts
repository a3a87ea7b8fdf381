/**
 * Option definitions shared by several commands, with virsh's help texts.
 */
import type { OptDef } from '../types';

/** VIRSH_COMMON_OPT_DOMAIN_FULL. */
export const DOMAIN_OPT: OptDef = { name: 'domain', type: 'data', help: 'domain name, id or uuid' };

/** A domain option with a narrower help text (domid, domname, domuuid). */
export function domainOpt(help: string): OptDef {
  return { name: 'domain', type: 'data', help };
}
