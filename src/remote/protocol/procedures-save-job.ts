/** Save/restore (plain, flags, params, managed, image) and job monitoring/abort procedures. */
import { xdr } from '../xdr';
import { REMOTE_DOMAIN_JOB_STATS_MAX, REMOTE_DOMAIN_RESTORE_PARAMS_MAX, REMOTE_DOMAIN_SAVE_PARAMS_MAX } from './constants';
import { HIGH, all, defineProcedure as proc, maps, mapsLegacy, mutating } from './procedure';
import { VIR_DOMAIN_XML_SECURE } from './procedures-domain';
import { intBool, nonnullDomain, nonnullString, remoteString, typedParams, uhyperNumber } from './types';

const s = xdr.struct;
const domArg = s({ dom: nonnullDomain }, 'remote_domain_args');
const domFlagsArg = s({ dom: nonnullDomain, flags: xdr.uint }, 'remote_domain_flags_args');

/** remote_domain_get_job_info_ret: virDomainJobInfo with every counter as unsigned hyper. */
const jobInfoRet = s(
  {
    type: xdr.int,
    timeElapsed: uhyperNumber,
    timeRemaining: uhyperNumber,
    dataTotal: uhyperNumber,
    dataProcessed: uhyperNumber,
    dataRemaining: uhyperNumber,
    memTotal: uhyperNumber,
    memProcessed: uhyperNumber,
    memRemaining: uhyperNumber,
    fileTotal: uhyperNumber,
    fileProcessed: uhyperNumber,
    fileRemaining: uhyperNumber,
  },
  'remote_domain_get_job_info_ret',
);

/** Procedures of saving, restoring and watching/aborting the job that does it. */
export const SAVE_JOB_PROCEDURES = {
  DOMAIN_RESTORE: proc(54, 'DOMAIN_RESTORE', s({ from: nonnullString }, 'remote_domain_restore_args'), undefined, all(mutating('virDomainRestore'), maps('domainRestore', 'connect.restore', ['from']))),
  DOMAIN_SAVE: proc(55, 'DOMAIN_SAVE', s({ dom: nonnullDomain, to: nonnullString }, 'remote_domain_save_args'), undefined, all(mutating('virDomainSave'), maps('domainSave', 'domain.save', ['dom', 'to']))),
  DOMAIN_GET_JOB_INFO: proc(163, 'DOMAIN_GET_JOB_INFO', domArg, jobInfoRet, all(HIGH, maps('domainGetJobInfo', 'domain.getJobInfo', ['dom'], '*'))),
  DOMAIN_ABORT_JOB: proc(164, 'DOMAIN_ABORT_JOB', domArg, undefined, all(HIGH, mutating('virDomainAbortJob'), mapsLegacy('domainAbortJob', 'domain.abortJob', ['dom', 0]))),
  DOMAIN_MANAGED_SAVE: proc(182, 'DOMAIN_MANAGED_SAVE', domFlagsArg, undefined, all(mutating('virDomainManagedSave'), maps('domainManagedSave', 'domain.managedSave', ['dom', 'flags']))),
  DOMAIN_HAS_MANAGED_SAVE_IMAGE: proc(
    183,
    'DOMAIN_HAS_MANAGED_SAVE_IMAGE',
    domFlagsArg,
    s({ result: intBool }, 'remote_domain_has_managed_save_image_ret'),
    all(HIGH, maps('domainHasManagedSaveImage', 'domain.hasManagedSaveImage', ['dom', 'flags'], 'result')),
  ),
  DOMAIN_MANAGED_SAVE_REMOVE: proc(184, 'DOMAIN_MANAGED_SAVE_REMOVE', domFlagsArg, undefined, all(mutating('virDomainManagedSaveRemove'), maps('domainManagedSaveRemove', 'domain.managedSaveRemove', ['dom', 'flags']))),
  DOMAIN_SAVE_FLAGS: proc(
    232,
    'DOMAIN_SAVE_FLAGS',
    s({ dom: nonnullDomain, to: nonnullString, dxml: remoteString, flags: xdr.uint }, 'remote_domain_save_flags_args'),
    undefined,
    all(mutating('virDomainSaveFlags'), maps('domainSaveFlags', 'domain.saveFlags', ['dom', 'to', 'dxml', 'flags'])),
  ),
  DOMAIN_RESTORE_FLAGS: proc(
    233,
    'DOMAIN_RESTORE_FLAGS',
    s({ from: nonnullString, dxml: remoteString, flags: xdr.uint }, 'remote_domain_restore_flags_args'),
    undefined,
    all(mutating('virDomainRestoreFlags'), maps('domainRestoreFlags', 'connect.restoreFlags', ['from', 'dxml', 'flags'])),
  ),
  DOMAIN_SAVE_IMAGE_GET_XML_DESC: proc(
    235,
    'DOMAIN_SAVE_IMAGE_GET_XML_DESC',
    s({ file: nonnullString, flags: xdr.uint }, 'remote_domain_save_image_get_xml_desc_args'),
    s({ xml: nonnullString }, 'remote_domain_save_image_get_xml_desc_ret'),
    // Denied since libvirt 5.5 (CVE-2019-10161): a read-only client could make the daemon read
    // any file as root and learn about it from the error.
    all(mutating('virDomainSaveImageGetXMLDesc'), maps('domainSaveImageGetXMLDesc', 'connect.saveImageGetXMLDesc', ['file', 'flags'], 'xml')),
  ),
  DOMAIN_SAVE_IMAGE_DEFINE_XML: proc(
    236,
    'DOMAIN_SAVE_IMAGE_DEFINE_XML',
    s({ file: nonnullString, dxml: nonnullString, flags: xdr.uint }, 'remote_domain_save_image_define_xml_args'),
    undefined,
    all(mutating('virDomainSaveImageDefineXML'), maps('domainSaveImageDefineXML', 'connect.saveImageDefineXML', ['file', 'dxml', 'flags'])),
  ),
  DOMAIN_GET_JOB_STATS: proc(
    298,
    'DOMAIN_GET_JOB_STATS',
    domFlagsArg,
    s({ type: xdr.int, params: typedParams(REMOTE_DOMAIN_JOB_STATS_MAX) }, 'remote_domain_get_job_stats_ret'),
    all(HIGH, maps('domainGetJobStats', 'domain.getJobStats', ['dom', 'flags'], '*')),
  ),
  DOMAIN_MANAGED_SAVE_GET_XML_DESC: proc(
    388,
    'DOMAIN_MANAGED_SAVE_GET_XML_DESC',
    domFlagsArg,
    s({ xml: nonnullString }, 'remote_domain_managed_save_get_xml_desc_ret'),
    all(maps('domainManagedSaveGetXMLDesc', 'domain.managedSaveGetXMLDesc', ['dom', 'flags'], 'xml'), {
      readOnly: { kind: 'deny-flags', mask: VIR_DOMAIN_XML_SECURE, message: 'virDomainManagedSaveGetXMLDesc with secure flag' },
    }),
  ),
  DOMAIN_MANAGED_SAVE_DEFINE_XML: proc(
    389,
    'DOMAIN_MANAGED_SAVE_DEFINE_XML',
    s({ dom: nonnullDomain, dxml: remoteString, flags: xdr.uint }, 'remote_domain_managed_save_define_xml_args'),
    undefined,
    all(mutating('virDomainManagedSaveDefineXML'), maps('domainManagedSaveDefineXML', 'domain.managedSaveDefineXML', ['dom', 'dxml', 'flags'])),
  ),
  DOMAIN_SAVE_PARAMS: proc(
    440,
    'DOMAIN_SAVE_PARAMS',
    s({ dom: nonnullDomain, params: typedParams(REMOTE_DOMAIN_SAVE_PARAMS_MAX), flags: xdr.uint }, 'remote_domain_save_params_args'),
    undefined,
    all(mutating('virDomainSaveParams'), maps('domainSaveParams', 'domain.saveParams', ['dom', 'params', 'flags'])),
  ),
  DOMAIN_RESTORE_PARAMS: proc(
    441,
    'DOMAIN_RESTORE_PARAMS',
    s({ params: typedParams(REMOTE_DOMAIN_RESTORE_PARAMS_MAX), flags: xdr.uint }, 'remote_domain_restore_params_args'),
    undefined,
    all(mutating('virDomainRestoreParams'), maps('domainRestoreParams', 'connect.restoreParams', ['params', 'flags'])),
  ),
  DOMAIN_ABORT_JOB_FLAGS: proc(442, 'DOMAIN_ABORT_JOB_FLAGS', domFlagsArg, undefined, all(HIGH, mutating('virDomainAbortJobFlags'), maps('domainAbortJob', 'domain.abortJob', ['dom', 'flags']))),
} as const;
