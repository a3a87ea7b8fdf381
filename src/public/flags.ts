/**
 * Flag constants of the public API, with libvirt's names and values.
 */

/** virConnectFlags. */
export const ConnectFlags = { RO: 1 << 0, NO_ALIASES: 1 << 1 } as const;

export { ListAllDomainsFlags, DomainXMLFlags, UndefineFlags, CreateFlags, JobStatsFlags } from '../drivers/common/domain-flags';
