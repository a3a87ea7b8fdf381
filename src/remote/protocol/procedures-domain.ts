/** Domain lifecycle, lookup and information procedures. */
import { xdr } from '../xdr';
import { REMOTE_DOMAIN_MESSAGES_MAX, REMOTE_SECURITY_LABEL_MAX } from './constants';
import { HIGH, all, defineProcedure as proc, maps, mapsLegacy, mutating } from './procedure';
import { intBool, nonnullDomain, nonnullString, remoteUuid, uhyperNumber } from './types';

const s = xdr.struct;
/** VIR_DOMAIN_XML_SECURE: include security-sensitive data (passwords) in the XML. */
export const VIR_DOMAIN_XML_SECURE = 1;
/** `{ remote_nonnull_domain dom; }`: the argument of most single-domain calls. */
const domArg = s({ dom: nonnullDomain }, 'remote_domain_args');
/** `{ remote_nonnull_domain dom; unsigned int flags; }`. */
const domFlagsArg = s({ dom: nonnullDomain, flags: xdr.uint }, 'remote_domain_flags_args');
/** `{ remote_nonnull_domain dom; }` as a reply. */
const domRet = s({ dom: nonnullDomain }, 'remote_domain_ret');
const D = ['dom'];
const DF = ['dom', 'flags'];

/** Procedures that create, look up, describe and change the state of domains. */
export const DOMAIN_PROCEDURES = {
  DOMAIN_CREATE: proc(9, 'DOMAIN_CREATE', domArg, undefined, all(mutating('virDomainCreate'), mapsLegacy('domainCreate', 'domain.create', ['dom', 0]))),
  DOMAIN_CREATE_XML: proc(
    10,
    'DOMAIN_CREATE_XML',
    s({ xml_desc: nonnullString, flags: xdr.uint }, 'remote_domain_create_xml_args'),
    domRet,
    all(mutating('virDomainCreateXML'), maps('domainCreateXML', 'connect.createXML', ['xml_desc', 'flags'], 'dom')),
  ),
  DOMAIN_DEFINE_XML: proc(
    11,
    'DOMAIN_DEFINE_XML',
    s({ xml: nonnullString }, 'remote_domain_define_xml_args'),
    domRet,
    all(mutating('virDomainDefineXML'), mapsLegacy('domainDefineXML', 'connect.defineXML', ['xml', 0], 'dom')),
  ),
  DOMAIN_DESTROY: proc(12, 'DOMAIN_DESTROY', domArg, undefined, all(mutating('virDomainDestroy'), mapsLegacy('domainDestroy', 'domain.destroy', ['dom', 0]))),
  DOMAIN_GET_XML_DESC: proc(
    14,
    'DOMAIN_GET_XML_DESC',
    domFlagsArg,
    s({ xml: nonnullString }, 'remote_domain_get_xml_desc_ret'),
    all(HIGH, maps('domainGetXMLDesc', 'domain.getXMLDesc', DF, 'xml'), {
      // The secure XML carries passwords (graphics, secrets): libvirt keeps it from read-only clients.
      readOnly: { kind: 'deny-flags', mask: VIR_DOMAIN_XML_SECURE, message: 'virDomainGetXMLDesc with secure flag' },
    }),
  ),
  DOMAIN_GET_AUTOSTART: proc(
    15,
    'DOMAIN_GET_AUTOSTART',
    domArg,
    s({ autostart: intBool }, 'remote_domain_get_autostart_ret'),
    all(HIGH, maps('domainGetAutostart', 'domain.getAutostart', D, 'autostart')),
  ),
  DOMAIN_GET_INFO: proc(
    16,
    'DOMAIN_GET_INFO',
    domArg,
    s(
      { state: xdr.uchar, maxMem: uhyperNumber, memory: uhyperNumber, nrVirtCpu: xdr.ushort, cpuTime: xdr.uhyper },
      'remote_domain_get_info_ret',
    ),
    all(HIGH, maps('domainGetInfo', 'domain.getInfo', D, '*')),
  ),
  DOMAIN_GET_OS_TYPE: proc(19, 'DOMAIN_GET_OS_TYPE', domArg, s({ type: nonnullString }, 'remote_domain_get_os_type_ret'), HIGH),
  DOMAIN_LOOKUP_BY_ID: proc(
    22,
    'DOMAIN_LOOKUP_BY_ID',
    s({ id: xdr.int }, 'remote_domain_lookup_by_id_args'),
    domRet,
    all(HIGH, maps('domainLookupByID', 'connect.lookupDomainByID', ['id'], 'dom')),
  ),
  DOMAIN_LOOKUP_BY_NAME: proc(
    23,
    'DOMAIN_LOOKUP_BY_NAME',
    s({ name: nonnullString }, 'remote_domain_lookup_by_name_args'),
    domRet,
    all(HIGH, maps('domainLookupByName', 'connect.lookupDomainByName', ['name'], 'dom')),
  ),
  DOMAIN_LOOKUP_BY_UUID: proc(
    24,
    'DOMAIN_LOOKUP_BY_UUID',
    s({ uuid: remoteUuid }, 'remote_domain_lookup_by_uuid_args'),
    domRet,
    all(HIGH, maps('domainLookupByUUID', 'connect.lookupDomainByUUID', ['uuid'], 'dom')),
  ),
  DOMAIN_REBOOT: proc(27, 'DOMAIN_REBOOT', domFlagsArg, undefined, all(mutating('virDomainReboot'), maps('domainReboot', 'domain.reboot', DF))),
  DOMAIN_RESUME: proc(28, 'DOMAIN_RESUME', domArg, undefined, all(mutating('virDomainResume'), maps('domainResume', 'domain.resume', D))),
  DOMAIN_SET_AUTOSTART: proc(
    29,
    'DOMAIN_SET_AUTOSTART',
    s({ dom: nonnullDomain, autostart: intBool }, 'remote_domain_set_autostart_args'),
    undefined,
    all(mutating('virDomainSetAutostart'), maps('domainSetAutostart', 'domain.setAutostart', ['dom', 'autostart'])),
  ),
  DOMAIN_SHUTDOWN: proc(33, 'DOMAIN_SHUTDOWN', domArg, undefined, all(mutating('virDomainShutdown'), mapsLegacy('domainShutdown', 'domain.shutdown', ['dom', 0]))),
  DOMAIN_SUSPEND: proc(34, 'DOMAIN_SUSPEND', domArg, undefined, all(mutating('virDomainSuspend'), maps('domainSuspend', 'domain.suspend', D))),
  DOMAIN_UNDEFINE: proc(35, 'DOMAIN_UNDEFINE', domArg, undefined, all(mutating('virDomainUndefine'), mapsLegacy('domainUndefine', 'domain.undefine', ['dom', 0]))),
  DOMAIN_GET_SECURITY_LABEL: proc(
    121,
    'DOMAIN_GET_SECURITY_LABEL',
    domArg,
    s({ label: xdr.charString(REMOTE_SECURITY_LABEL_MAX), enforcing: intBool }, 'remote_domain_get_security_label_ret'),
    all(HIGH, maps('domainGetSecurityLabel', 'domain.getSecurityLabel', D, '*')),
  ),
  DOMAIN_IS_ACTIVE: proc(150, 'DOMAIN_IS_ACTIVE', domArg, s({ active: intBool }, 'remote_domain_is_active_ret'), all(HIGH, maps('domainIsActive', 'domain.isActive', D, 'active'))),
  DOMAIN_IS_PERSISTENT: proc(
    151,
    'DOMAIN_IS_PERSISTENT',
    domArg,
    s({ persistent: intBool }, 'remote_domain_is_persistent_ret'),
    all(HIGH, maps('domainIsPersistent', 'domain.isPersistent', D, 'persistent')),
  ),
  DOMAIN_CREATE_WITH_FLAGS: proc(
    196,
    'DOMAIN_CREATE_WITH_FLAGS',
    domFlagsArg,
    domRet,
    all(mutating('virDomainCreateWithFlags'), maps('domainCreate', 'domain.create', DF, 'dom')),
  ),
  DOMAIN_GET_STATE: proc(
    212,
    'DOMAIN_GET_STATE',
    domFlagsArg,
    s({ state: xdr.int, reason: xdr.int }, 'remote_domain_get_state_ret'),
    all(HIGH, maps('domainGetState', 'domain.getState', DF, '*')),
  ),
  DOMAIN_UNDEFINE_FLAGS: proc(231, 'DOMAIN_UNDEFINE_FLAGS', domFlagsArg, undefined, all(mutating('virDomainUndefineFlags'), maps('domainUndefine', 'domain.undefine', DF))),
  // 234, not 193: 193 is DOMAIN_SNAPSHOT_DELETE in libvirt's table.
  DOMAIN_DESTROY_FLAGS: proc(234, 'DOMAIN_DESTROY_FLAGS', domFlagsArg, undefined, all(mutating('virDomainDestroyFlags'), maps('domainDestroy', 'domain.destroy', DF))),
  DOMAIN_RESET: proc(245, 'DOMAIN_RESET', domFlagsArg, undefined, all(mutating('virDomainReset'), maps('domainReset', 'domain.reset', DF))),
  DOMAIN_SHUTDOWN_FLAGS: proc(
    258,
    'DOMAIN_SHUTDOWN_FLAGS',
    domFlagsArg,
    undefined,
    all(mutating('virDomainShutdownFlags'), maps('domainShutdown', 'domain.shutdownFlags', DF)),
  ),
  DOMAIN_DEFINE_XML_FLAGS: proc(
    350,
    'DOMAIN_DEFINE_XML_FLAGS',
    s({ xml: nonnullString, flags: xdr.uint }, 'remote_domain_define_xml_flags_args'),
    domRet,
    all(mutating('virDomainDefineXMLFlags'), maps('domainDefineXML', 'connect.defineXML', ['xml', 'flags'], 'dom')),
  ),
  DOMAIN_GET_MESSAGES: proc(
    426,
    'DOMAIN_GET_MESSAGES',
    domFlagsArg,
    s({ msgs: xdr.array(nonnullString, REMOTE_DOMAIN_MESSAGES_MAX) }, 'remote_domain_get_messages_ret'),
    HIGH,
  ),
} as const;
