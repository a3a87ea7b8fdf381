/** Authentication procedures: the list of schemes and libvirt's three-call SASL exchange. */
import { xdr } from '../xdr';
import { REMOTE_AUTH_SASL_DATA_MAX, REMOTE_AUTH_TYPE_LIST_MAX } from './constants';
import { HIGH, defineProcedure as proc } from './procedure';
import { nonnullString } from './types';

const s = xdr.struct;
/** `char data<REMOTE_AUTH_SASL_DATA_MAX>`, raw bytes in JS. */
const saslData = xdr.charBytes(REMOTE_AUTH_SASL_DATA_MAX);
/** `{ int complete; int nil; char data<>; }`: a server's answer to a SASL step. */
const saslStepRet = s({ complete: xdr.int, nil: xdr.int, data: saslData }, 'remote_auth_sasl_step_ret');

/** Procedures a client may call before it has authenticated. */
export const AUTH_PROCEDURES = {
  AUTH_LIST: proc(66, 'AUTH_LIST', xdr.xvoid, s({ types: xdr.array(xdr.int, REMOTE_AUTH_TYPE_LIST_MAX) }, 'remote_auth_list_ret'), HIGH),
  AUTH_SASL_INIT: proc(67, 'AUTH_SASL_INIT', xdr.xvoid, s({ mechlist: nonnullString }, 'remote_auth_sasl_init_ret')),
  AUTH_SASL_START: proc(68, 'AUTH_SASL_START', s({ mech: nonnullString, nil: xdr.int, data: saslData }, 'remote_auth_sasl_start_args'), saslStepRet),
  AUTH_SASL_STEP: proc(69, 'AUTH_SASL_STEP', s({ nil: xdr.int, data: saslData }, 'remote_auth_sasl_step_args'), saslStepRet),
} as const;
