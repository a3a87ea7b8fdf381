/**
 * Turns save/restore typed parameters and flags into one options object, so every driver reads
 * them the same way whatever API (Save, SaveFlags, SaveParams, ManagedSave) the caller used.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { getIntParam, getStringParam, getTypedParam, type TypedParameter } from '../../util/typed-params';
import { VirError } from '../../util/vir-error';
import { SAVE_IMAGE_FORMAT_NAMES, SaveImageFormat } from '../../conf/save-image/header';
import type { SaveCompression, SaveImageMode } from '../../conf/save-image/manifest';
import {
  DEFAULT_PARALLEL_CHANNELS,
  TSVIRT_RESTORE_PARAM_INSTANT,
  TSVIRT_SAVE_PARAM_PARALLEL_COMPRESSION,
  TSVIRT_SAVE_PARAM_PARALLEL_MODE,
  VIR_DOMAIN_SAVE_BYPASS_CACHE,
  VIR_DOMAIN_SAVE_PARALLEL,
  VIR_DOMAIN_SAVE_PARAM_DXML,
  VIR_DOMAIN_SAVE_PARAM_FILE,
  VIR_DOMAIN_SAVE_PARAM_IMAGE_FORMAT,
  VIR_DOMAIN_SAVE_PARAM_PARALLEL_CHANNELS,
  VIR_DOMAIN_SAVE_PAUSED,
  VIR_DOMAIN_SAVE_RESET_NVRAM,
  VIR_DOMAIN_SAVE_RUNNING,
} from './save-flags';

/** The resolved request. */
export interface SaveOptions {
  /** Image path; undefined = managed save. */
  file?: string;
  /** Replacement domain XML. */
  dxml?: string;
  imageFormat: SaveImageFormat;
  /** Number of channels; 1 = a plain single stream. */
  channels: number;
  /** True when the caller asked for a parallel save (channel count, layout or PARALLEL flag). */
  channelsRequested: boolean;
  /** The `parallel.channels` parameter as given (restore checks it against the image). */
  channelsParam?: number;
  compression: SaveCompression;
  mode: SaveImageMode;
  bypassCache: boolean;
  resetNvram: boolean;
  /** Restore only: `parallel.instant`, map a region image's RAM instead of copying it. */
  instant: boolean;
  /** RUNNING / PAUSED flags: how to leave the guest after restore. */
  runningOverride: 'running' | 'paused' | undefined;
}

const COMPRESSIONS: readonly SaveCompression[] = ['none', 'zlib', 'zstd'];
const MODES: readonly string[] = ['files', 'region'];

/**
 * Resolves already schema-validated params plus flags. PARALLEL alone means
 * DEFAULT_PARALLEL_CHANNELS; `parallel.channels` alone implies PARALLEL; one channel is a plain
 * single stream (mode 'single'). Errors use libvirt's texts where libvirt has one.
 */
export function resolveSaveOptions(
  params: readonly TypedParameter[],
  flags: number,
  domain: ErrorDomain = ErrorDomain.DOMAIN,
): SaveOptions {
  if (flags & VIR_DOMAIN_SAVE_RUNNING && flags & VIR_DOMAIN_SAVE_PAUSED) {
    throw VirError.report(
      ErrorCode.INVALID_ARG,
      domain,
      "Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive",
    );
  }
  const fmtName = getStringParam(params, VIR_DOMAIN_SAVE_PARAM_IMAGE_FORMAT);
  let imageFormat = SaveImageFormat.RAW;
  if (fmtName !== undefined) {
    const i = (SAVE_IMAGE_FORMAT_NAMES as readonly string[]).indexOf(fmtName);
    if (i < 0) throw VirError.report(ErrorCode.OPERATION_FAILED, domain, `Invalid image_format '${fmtName}'`);
    imageFormat = i as SaveImageFormat;
  }

  const asked = getIntParam(params, VIR_DOMAIN_SAVE_PARAM_PARALLEL_CHANNELS);
  if (asked !== undefined && asked < 1) {
    throw VirError.report(ErrorCode.INVALID_ARG, domain, 'number of parallel save channels cannot be less than 1');
  }
  const modeParam = getStringParam(params, TSVIRT_SAVE_PARAM_PARALLEL_MODE);
  // Naming a channel count or a layout asks for a parallel save as much as the flag does.
  const parallel = (flags & VIR_DOMAIN_SAVE_PARALLEL) !== 0 || asked !== undefined || modeParam !== undefined;
  const channels = asked ?? (parallel ? DEFAULT_PARALLEL_CHANNELS : 1);

  const comp = getStringParam(params, TSVIRT_SAVE_PARAM_PARALLEL_COMPRESSION) ?? 'none';
  if (!COMPRESSIONS.includes(comp as SaveCompression)) {
    throw VirError.report(ErrorCode.INVALID_ARG, domain, `Invalid parallel.compression '${comp}'`);
  }
  const modeName = modeParam ?? 'files';
  if (!MODES.includes(modeName)) {
    throw VirError.report(ErrorCode.INVALID_ARG, domain, `Invalid parallel.mode '${modeName}'`);
  }

  return {
    file: getStringParam(params, VIR_DOMAIN_SAVE_PARAM_FILE),
    dxml: getStringParam(params, VIR_DOMAIN_SAVE_PARAM_DXML),
    imageFormat,
    channels,
    channelsRequested: parallel,
    channelsParam: asked,
    compression: comp as SaveCompression,
    // One channel without a named layout is libvirt's plain single-stream image.
    mode: modeParam === undefined && channels === 1 ? 'single' : (modeName as SaveImageMode),
    instant: getTypedParam(params, TSVIRT_RESTORE_PARAM_INSTANT)?.value === true,
    bypassCache: (flags & VIR_DOMAIN_SAVE_BYPASS_CACHE) !== 0,
    resetNvram: (flags & VIR_DOMAIN_SAVE_RESET_NVRAM) !== 0,
    runningOverride:
      flags & VIR_DOMAIN_SAVE_RUNNING ? 'running' : flags & VIR_DOMAIN_SAVE_PAUSED ? 'paused' : undefined,
  };
}
