/**
 * tsvirt: a libvirt-style virtualization library for Node.js.
 *
 * `Connect.open(uri)` is the entry point; drivers plug in with `registerDriver`.
 */
export { Connect, LIB_VERSION, canonicalUuid, type ConnectOpenOptions, type DomainEventInfo, type DomainLifecycleEventInfo } from './public/connect';
export { Domain } from './public/domain';
export type { DomainSaveParams, DomainRestoreParams, ParamsInput } from './public/param-types';
export { paramSchemas, validateParams, schemaFieldType, type ParamApi, type ParamSchema } from './public/param-schemas';
export * from './public/flags';
export { SaveRestoreFlags, DEFAULT_PARALLEL_CHANNELS } from './public/save-flags';
export { VirError, isVirError, type VirErrorFields } from './util/vir-error';
export { ErrorCode, ErrorDomain, ErrorLevel } from './util/error-codes';
export * from './util/typed-params';
export { parseUri, defaultUri, effectiveTransport, type VirUri } from './util/uri';
export * from './drivers/types';
export type { HypervisorDriver, HypervisorSlot } from './drivers/driver-table';
export type { ConnectionDriver, OpenOptions, OpenResult } from './drivers/connection-driver';
export { registerDriver, unregisterDriver, registeredDrivers } from './drivers/registry';
export {
  verifySaveImage,
  readSaveImageHeader,
  decodeSaveHeader,
  decodeManifest,
  imageChannelFiles,
  SaveImageFormat,
  SAVE_IMAGE_FORMAT_NAMES,
  SAVE_MAGIC,
  type SaveImageReport,
  type VerifiedPiece,
  type SaveImageInfo,
  type SaveImageHeader,
  type SaveManifest,
  type ManifestFile,
  type SaveImageMode,
  type SaveCompression,
} from './conf/save-image';
