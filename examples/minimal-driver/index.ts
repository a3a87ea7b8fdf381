/**
 * A minimal out-of-tree hypervisor driver: what a third-party package writes to plug a new
 * hypervisor into tsvirt. It serves `minimal:///` with one fixed, running domain and fills only
 * a few slots of the driver table; every slot it leaves out answers NO_SUPPORT by itself.
 *
 * Plugging it in is one call: `registerDriver(minimalDriver)`.
 */
import {
  DomainState,
  ErrorCode,
  ErrorDomain,
  RunningReason,
  VirError,
  type ConnectionDriver,
  type DomainRef,
  type HypervisorDriver,
} from 'tsvirt';

const ONLY: DomainRef = { name: 'only', uuid: '0b1c2d3e-4f50-4617-8899-aabbccddeeff', id: 1 };

function find(match: (d: DomainRef) => boolean, what: string): DomainRef {
  if (match(ONLY)) return ONLY;
  throw VirError.report(ErrorCode.NO_DOMAIN, ErrorDomain.NONE, what);
}

/** One connection's driver table: a handful of slots, the rest deliberately absent. */
function minimalHypervisor(): HypervisorDriver {
  return {
    name: 'MINIMAL',
    connectGetType: async () => 'MINIMAL',
    connectGetVersion: async () => 1_002_003,
    connectGetURI: async () => 'minimal:///',
    connectGetHostname: async () => 'minimal-host',
    connectListAllDomains: async () => [ONLY],
    domainLookupByName: async (name) => find((d) => d.name === name, `no domain with matching name '${name}'`),
    domainLookupByUUID: async (uuid) => find((d) => d.uuid === uuid, `no domain with matching uuid '${uuid}'`),
    domainGetState: async () => ({ state: DomainState.RUNNING, reason: RunningReason.BOOTED }),
    domainGetInfo: async () => ({ state: DomainState.RUNNING, maxMem: 65536, memory: 65536, nrVirtCpu: 1, cpuTime: 0n }),
  };
}

/** The connection driver a package registers. */
export const minimalDriver: ConnectionDriver = {
  name: 'minimal',
  uriSchemes: ['minimal'],
  localOnly: true,
  async open(uri) {
    if (!uri) return { status: 'declined' };
    if (uri.path !== '/' && uri.path !== '') {
      throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.NONE, `unexpected minimal URI path '${uri.path}'`);
    }
    return { status: 'success', driver: minimalHypervisor() };
  },
};
