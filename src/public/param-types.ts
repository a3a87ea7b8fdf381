/**
 * The object form of each typed-parameter API, typed field by field, so a misspelled field or a
 * wrong value type is a compile error (`{ 'parallel.channel': 4 }` does not compile). libvirt's
 * list form stays open: it is checked at run time against the schema, as libvirt checks it.
 * These interfaces mirror schemas/*.json; test/unit/param-types.test.ts holds them in step.
 */
import type { TypedParameter } from '../util/typed-params';

/** virDomainSaveParametersFlags / virDomainSaveParams parameters (schemas/domain-save-params.json). */
export interface DomainSaveParams {
  /** VIR_DOMAIN_SAVE_PARAM_FILE: the image path (made absolute by the client); none = managed save. */
  file?: string;
  /** VIR_DOMAIN_SAVE_PARAM_DXML: replacement domain XML with the same ABI. */
  dxml?: string;
  /** VIR_DOMAIN_SAVE_PARAM_IMAGE_FORMAT: how the stream is stored. */
  image_format?: 'raw' | 'gzip' | 'bzip2' | 'xz' | 'lzop' | 'zstd' | 'sparse';
  /** VIR_DOMAIN_SAVE_PARAM_PARALLEL_CHANNELS: 1..255; more than 1 means a parallel save. */
  'parallel.channels'?: number;
  /** tsvirt: compression of the parallel channels. */
  'parallel.compression'?: 'none' | 'zlib' | 'zstd';
  /** tsvirt: `files` (FILE + FILE.1..N) or `region` (one file). */
  'parallel.mode'?: 'files' | 'region';
}

/** virDomainRestoreParams parameters (schemas/domain-restore-params.json). */
export interface DomainRestoreParams {
  /** VIR_DOMAIN_SAVE_PARAM_FILE: the image to restore. */
  file?: string;
  /** VIR_DOMAIN_SAVE_PARAM_DXML: replacement domain XML with the same ABI. */
  dxml?: string;
  /** VIR_DOMAIN_SAVE_PARAM_PARALLEL_CHANNELS: channels to read with. */
  'parallel.channels'?: number;
  /** tsvirt: map a region image's RAM copy-on-write instead of copying it. */
  'parallel.instant'?: boolean;
}

/** What a typed-parameter API accepts: libvirt's list (open) or the API's typed object. */
export type ParamsInput<O> = readonly TypedParameter[] | Readonly<O>;
