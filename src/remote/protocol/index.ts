/** remote_protocol: structures, constants and the procedure table. */
export * from './constants';
export * from './uuid';
export * from './types';
export * from './procedure';
export { CONNECT_PROCEDURES } from './procedures-connect';
export { DOMAIN_PROCEDURES } from './procedures-domain';
export { SAVE_JOB_PROCEDURES } from './procedures-save-job';
export { AUTH_PROCEDURES } from './procedures-auth';
export { EVENT_PROCEDURES, EVENT_MESSAGE_CODECS, eventCodecByProcedure, type EventMessageCodec, type WireDomainEvent } from './procedures-events';
export * from './table';
