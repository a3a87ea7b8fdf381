/** Domain event registration (callback style) and the lifecycle event message. */
import { xdr } from '../xdr';
import { defineProcedure as proc } from './procedure';
import { nonnullDomain, remoteDomain } from './types';

const s = xdr.struct;

/** remote_domain_event_lifecycle_msg. */
const lifecycleMsg = s({ dom: nonnullDomain, event: xdr.int, detail: xdr.int }, 'remote_domain_event_lifecycle_msg');

/** Event procedures; 318 is sent by the daemon as a MESSAGE, not called. */
export const EVENT_PROCEDURES = {
  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: proc(
    316,
    'CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY',
    s({ eventID: xdr.int, dom: remoteDomain }, 'remote_connect_domain_event_callback_register_any_args'),
    s({ callbackID: xdr.int }, 'remote_connect_domain_event_callback_register_any_ret'),
  ),
  CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: proc(
    317,
    'CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY',
    s({ callbackID: xdr.int }, 'remote_connect_domain_event_callback_deregister_any_args'),
  ),
  DOMAIN_EVENT_CALLBACK_LIFECYCLE: proc(
    318,
    'DOMAIN_EVENT_CALLBACK_LIFECYCLE',
    s({ callbackID: xdr.int, msg: lifecycleMsg }, 'remote_domain_event_callback_lifecycle_msg'),
    xdr.xvoid,
    { kind: 'message' },
  ),
} as const;
