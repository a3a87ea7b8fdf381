/**
 * Domain event registration (callback style) and the event messages the daemon sends, with the
 * payload of each event kind tsvirt's drivers raise, laid out as libvirt's remote_protocol.x.
 */
import type { TypedParameter } from '../../util/typed-params';
import { xdr } from '../xdr';
import { REMOTE_DOMAIN_JOB_STATS_MAX } from './constants';
import { defineProcedure as proc, type ProcedureDef } from './procedure';
import { nonnullDomain, remoteDomain, typedParams, type WireDomain } from './types';

const s = xdr.struct;
const MESSAGE = { kind: 'message' } as const;

/** remote_domain_event_lifecycle_msg. */
const lifecycleMsg = s({ dom: nonnullDomain, event: xdr.int, detail: xdr.int }, 'remote_domain_event_lifecycle_msg');
/** remote_domain_event_reboot_msg. */
const rebootMsg = s({ dom: nonnullDomain }, 'remote_domain_event_reboot_msg');

/** Event procedures; the DOMAIN_EVENT_CALLBACK_* ones are sent by the daemon as MESSAGEs, never called. */
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
    MESSAGE,
  ),
  DOMAIN_EVENT_CALLBACK_REBOOT: proc(
    319,
    'DOMAIN_EVENT_CALLBACK_REBOOT',
    s({ callbackID: xdr.int, msg: rebootMsg }, 'remote_domain_event_callback_reboot_msg'),
    xdr.xvoid,
    MESSAGE,
  ),
  DOMAIN_EVENT_CALLBACK_JOB_COMPLETED: proc(
    363,
    'DOMAIN_EVENT_CALLBACK_JOB_COMPLETED',
    s({ callbackID: xdr.int, dom: nonnullDomain, params: typedParams(REMOTE_DOMAIN_JOB_STATS_MAX) }, 'remote_domain_event_callback_job_completed_msg'),
    xdr.xvoid,
    MESSAGE,
  ),
} as const;

/**
 * An event as the wire carries it: the event id (libvirt's VIR_DOMAIN_EVENT_ID_*), the domain,
 * and the fields of its kind (lifecycle: event, detail; job-completed: params).
 */
export interface WireDomainEvent {
  readonly eventId: number;
  readonly domain: WireDomain;
  readonly event?: number;
  readonly detail?: number;
  readonly params?: TypedParameter[];
}

/** How one event kind travels: its message procedure and the payload's mapping. */
export interface EventMessageCodec {
  readonly eventId: number;
  readonly proc: ProcedureDef;
  toWire(callbackID: number, ev: WireDomainEvent): unknown;
  fromWire(payload: any): { callbackID: number; event: WireDomainEvent };
}

const P = EVENT_PROCEDURES;

/** The event kinds tsvirt sends and receives, by event id. */
export const EVENT_MESSAGE_CODECS: ReadonlyMap<number, EventMessageCodec> = new Map<number, EventMessageCodec>([
  [
    0,
    {
      eventId: 0,
      proc: P.DOMAIN_EVENT_CALLBACK_LIFECYCLE,
      toWire: (callbackID, ev) => ({ callbackID, msg: { dom: ev.domain, event: ev.event ?? 0, detail: ev.detail ?? 0 } }),
      fromWire: (m) => ({ callbackID: m.callbackID, event: { eventId: 0, domain: m.msg.dom, event: m.msg.event, detail: m.msg.detail } }),
    },
  ],
  [
    1,
    {
      eventId: 1,
      proc: P.DOMAIN_EVENT_CALLBACK_REBOOT,
      toWire: (callbackID, ev) => ({ callbackID, msg: { dom: ev.domain } }),
      fromWire: (m) => ({ callbackID: m.callbackID, event: { eventId: 1, domain: m.msg.dom } }),
    },
  ],
  [
    21,
    {
      eventId: 21,
      proc: P.DOMAIN_EVENT_CALLBACK_JOB_COMPLETED,
      toWire: (callbackID, ev) => ({ callbackID, dom: ev.domain, params: ev.params ?? [] }),
      fromWire: (m) => ({ callbackID: m.callbackID, event: { eventId: 21, domain: m.dom, params: m.params } }),
    },
  ],
]);

/** The codec of an event message procedure number, or undefined for kinds tsvirt does not carry. */
export function eventCodecByProcedure(number: number): EventMessageCodec | undefined {
  for (const c of EVENT_MESSAGE_CODECS.values()) if (c.proc.number === number) return c;
  return undefined;
}
