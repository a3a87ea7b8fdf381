/** Connection-level procedures: handshake, identity, versions, listing, close callbacks. */
import { xdr } from '../xdr';
import {
  REMOTE_DOMAIN_LIST_MAX,
  REMOTE_STORAGE_POOL_LIST_MAX,
  REMOTE_SECURITY_DOI_MAX,
  REMOTE_SECURITY_MODEL_MAX,
} from './constants';
import { HIGH, all, defineProcedure as proc, maps, mutating } from './procedure';
import { nonnullDomain, nonnullStoragePool, nonnullString, remoteString, uhyperNumber } from './types';

const s = xdr.struct;

/** `char model[32]`: rpcgen sends each char as a 4-byte int, NUL-padded to 32. */
const model32 = xdr.transform(
  xdr.fixedArray(xdr.int, 32),
  (chars: number[]) => {
    const bytes = Buffer.from(chars.map((c) => c & 0xff));
    const nul = bytes.indexOf(0);
    return bytes.subarray(0, nul < 0 ? 32 : nul).toString('latin1');
  },
  (model: string) => {
    const out = new Array<number>(32).fill(0);
    const bytes = Buffer.from(model, 'latin1').subarray(0, 31);
    bytes.forEach((b, i) => (out[i] = b >= 0x80 ? b - 0x100 : b));
    return out;
  },
  'char[32]',
);

/** remote_node_get_info_ret. */
const nodeInfoRet = s(
  {
    model: model32,
    memory: uhyperNumber,
    cpus: xdr.int,
    mhz: xdr.int,
    nodes: xdr.int,
    sockets: xdr.int,
    cores: xdr.int,
    threads: xdr.int,
  },
  'remote_node_get_info_ret',
);

/** Procedures of the connection itself. */
export const CONNECT_PROCEDURES = {
  CONNECT_OPEN: proc(1, 'CONNECT_OPEN', s({ name: remoteString, flags: xdr.uint }, 'remote_connect_open_args')),
  CONNECT_CLOSE: proc(2, 'CONNECT_CLOSE'),
  CONNECT_GET_TYPE: proc(3, 'CONNECT_GET_TYPE', xdr.xvoid, s({ type: nonnullString }, 'remote_connect_get_type_ret'), all(HIGH, maps('connectGetType', 'connect.getType', [], 'type'))),
  NODE_GET_INFO: proc(6, 'NODE_GET_INFO', xdr.xvoid, nodeInfoRet, all(HIGH, maps('nodeGetInfo', 'connect.getNodeInfo', [], '*'))),
  CONNECT_GET_CAPABILITIES: proc(
    7,
    'CONNECT_GET_CAPABILITIES',
    xdr.xvoid,
    s({ capabilities: nonnullString }, 'remote_connect_get_capabilities_ret'),
    maps('connectGetCapabilities', 'connect.getCapabilities', [], 'capabilities'),
  ),
  CONNECT_GET_VERSION: proc(
    4,
    'CONNECT_GET_VERSION',
    xdr.xvoid,
    s({ hv_ver: uhyperNumber }, 'remote_connect_get_version_ret'),
    all(HIGH, maps('connectGetVersion', 'connect.getVersion', [], 'hv_ver')),
  ),
  CONNECT_LIST_DEFINED_DOMAINS: proc(
    21,
    'CONNECT_LIST_DEFINED_DOMAINS',
    s({ maxnames: xdr.int }, 'remote_connect_list_defined_domains_args'),
    s({ names: xdr.array(nonnullString, REMOTE_DOMAIN_LIST_MAX) }, 'remote_connect_list_defined_domains_ret'),
  ),
  CONNECT_NUM_OF_DEFINED_DOMAINS: proc(
    25,
    'CONNECT_NUM_OF_DEFINED_DOMAINS',
    xdr.xvoid,
    s({ num: xdr.int }, 'remote_connect_num_of_defined_domains_ret'),
  ),
  CONNECT_LIST_DOMAINS: proc(
    37,
    'CONNECT_LIST_DOMAINS',
    s({ maxids: xdr.int }, 'remote_connect_list_domains_args'),
    s({ ids: xdr.array(xdr.int, REMOTE_DOMAIN_LIST_MAX) }, 'remote_connect_list_domains_ret'),
  ),
  CONNECT_NUM_OF_DOMAINS: proc(51, 'CONNECT_NUM_OF_DOMAINS', xdr.xvoid, s({ num: xdr.int }, 'remote_connect_num_of_domains_ret')),
  CONNECT_GET_HOSTNAME: proc(
    59,
    'CONNECT_GET_HOSTNAME',
    xdr.xvoid,
    s({ hostname: nonnullString }, 'remote_connect_get_hostname_ret'),
    all(HIGH, maps('connectGetHostname', 'connect.getHostname', [], 'hostname')),
  ),
  CONNECT_SUPPORTS_FEATURE: proc(
    60,
    'CONNECT_SUPPORTS_FEATURE',
    s({ feature: xdr.int }, 'remote_connect_supports_feature_args'),
    s({ supported: xdr.int }, 'remote_connect_supports_feature_ret'),
    HIGH,
  ),
  CONNECT_GET_URI: proc(110, 'CONNECT_GET_URI', xdr.xvoid, s({ uri: nonnullString }, 'remote_connect_get_uri_ret'), HIGH),
  NODE_GET_SECURITY_MODEL: proc(
    122,
    'NODE_GET_SECURITY_MODEL',
    xdr.xvoid,
    s(
      { model: xdr.charString(REMOTE_SECURITY_MODEL_MAX), doi: xdr.charString(REMOTE_SECURITY_DOI_MAX) },
      'remote_node_get_security_model_ret',
    ),
    all(HIGH, maps('nodeGetSecurityModel', 'connect.getSecurityModel', [], '*')),
  ),
  CONNECT_IS_SECURE: proc(149, 'CONNECT_IS_SECURE', xdr.xvoid, s({ secure: xdr.int }, 'remote_connect_is_secure_ret'), HIGH),
  CONNECT_GET_LIB_VERSION: proc(
    157,
    'CONNECT_GET_LIB_VERSION',
    xdr.xvoid,
    s({ lib_ver: uhyperNumber }, 'remote_connect_get_lib_version_ret'),
    HIGH,
  ),
  CONNECT_LIST_ALL_DOMAINS: proc(
    273,
    'CONNECT_LIST_ALL_DOMAINS',
    s({ need_results: xdr.int, flags: xdr.uint }, 'remote_connect_list_all_domains_args'),
    s({ domains: xdr.array(nonnullDomain, REMOTE_DOMAIN_LIST_MAX), ret: xdr.uint }, 'remote_connect_list_all_domains_ret'),
    HIGH,
  ),
  CONNECT_LIST_ALL_STORAGE_POOLS: proc(
    281,
    'CONNECT_LIST_ALL_STORAGE_POOLS',
    s({ need_results: xdr.int, flags: xdr.uint }, 'remote_connect_list_all_storage_pools_args'),
    s({ pools: xdr.array(nonnullStoragePool, REMOTE_STORAGE_POOL_LIST_MAX), ret: xdr.uint }, 'remote_connect_list_all_storage_pools_ret'),
    HIGH,
  ),
  CONNECT_GET_DOMAIN_CAPABILITIES: proc(
    342,
    'CONNECT_GET_DOMAIN_CAPABILITIES',
    s(
      { emulatorbin: remoteString, arch: remoteString, machine: remoteString, virttype: remoteString, flags: xdr.uint },
      'remote_connect_get_domain_capabilities_args',
    ),
    s({ capabilities: nonnullString }, 'remote_connect_get_domain_capabilities_ret'),
    // libvirt refuses it read-only: it can make the daemon start any binary to probe it.
    all(
      mutating('virConnectGetDomainCapabilities'),
      maps('connectGetDomainCapabilities', 'connect.getDomainCapabilities', ['emulatorbin', 'arch', 'machine', 'virttype', 'flags'], 'capabilities'),
    ),
  ),
  CONNECT_REGISTER_CLOSE_CALLBACK: proc(360, 'CONNECT_REGISTER_CLOSE_CALLBACK'),
  CONNECT_UNREGISTER_CLOSE_CALLBACK: proc(361, 'CONNECT_UNREGISTER_CLOSE_CALLBACK'),
} as const;
