/**
 * The `test` driver: an in-process fake hypervisor (libvirt's test:///default and fixture
 * files) with real save images, parallel channels, jobs and events.
 */
export { testConnectionDriver, defaultStateRefs } from './connection-driver';
export { TestConnection } from './connection';
export { DEFAULT_DOMAIN_XML, DEFAULT_NODE_INFO } from './default-fixture';
export { channelPath } from './image';
export { CHUNK_SIZE, payloadChunk, payloadSize } from './payload';
