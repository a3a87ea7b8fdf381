/**
 * virDomainSaveRestoreFlags and the save/restore parameter names. The public layer re-exports
 * these; drivers use them to read what the caller asked.
 */

/** VIR_DOMAIN_SAVE_BYPASS_CACHE: avoid the page cache (O_DIRECT). */
export const VIR_DOMAIN_SAVE_BYPASS_CACHE = 1 << 0;
/** VIR_DOMAIN_SAVE_RUNNING: run the guest after restore, whatever the image says. */
export const VIR_DOMAIN_SAVE_RUNNING = 1 << 1;
/** VIR_DOMAIN_SAVE_PAUSED: leave the guest paused after restore. */
export const VIR_DOMAIN_SAVE_PAUSED = 1 << 2;
/** VIR_DOMAIN_SAVE_RESET_NVRAM: re-initialize NVRAM on restore. */
export const VIR_DOMAIN_SAVE_RESET_NVRAM = 1 << 3;
/** VIR_DOMAIN_SAVE_PARALLEL (the RFC's flag): save/restore through several channels. */
export const VIR_DOMAIN_SAVE_PARALLEL = 1 << 4;

/** Channels used when PARALLEL is given without `parallel.channels`. */
export const DEFAULT_PARALLEL_CHANNELS = 4;

/** VIR_DOMAIN_SAVE_PARAM_FILE. */
export const VIR_DOMAIN_SAVE_PARAM_FILE = 'file';
/** VIR_DOMAIN_SAVE_PARAM_DXML. */
export const VIR_DOMAIN_SAVE_PARAM_DXML = 'dxml';
/** VIR_DOMAIN_SAVE_PARAM_IMAGE_FORMAT. */
export const VIR_DOMAIN_SAVE_PARAM_IMAGE_FORMAT = 'image_format';
/** VIR_DOMAIN_SAVE_PARAM_PARALLEL_CHANNELS. */
export const VIR_DOMAIN_SAVE_PARAM_PARALLEL_CHANNELS = 'parallel.channels';
/** tsvirt: compression of the channel data (none | zlib | zstd). */
export const TSVIRT_SAVE_PARAM_PARALLEL_COMPRESSION = 'parallel.compression';
/** tsvirt: 'files' (the RFC's FILE.k files) or 'region' (one file, one region per channel). */
export const TSVIRT_SAVE_PARAM_PARALLEL_MODE = 'parallel.mode';
/** tsvirt restore: map a region image's RAM copy-on-write instead of copying it. */
export const TSVIRT_RESTORE_PARAM_INSTANT = 'parallel.instant';
