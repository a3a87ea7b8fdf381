/**
 * virDomainSaveRestoreFlags for callers, as one object (`SaveRestoreFlags.PARALLEL`); the values
 * are the drivers' own constants, so there is one definition of each flag.
 */
import {
  DEFAULT_PARALLEL_CHANNELS,
  VIR_DOMAIN_SAVE_BYPASS_CACHE,
  VIR_DOMAIN_SAVE_PARALLEL,
  VIR_DOMAIN_SAVE_PAUSED,
  VIR_DOMAIN_SAVE_RESET_NVRAM,
  VIR_DOMAIN_SAVE_RUNNING,
} from '../drivers/common/save-flags';

/** virDomainSaveRestoreFlags, including the RFC's PARALLEL = 1 << 4. */
export const SaveRestoreFlags = {
  BYPASS_CACHE: VIR_DOMAIN_SAVE_BYPASS_CACHE,
  RUNNING: VIR_DOMAIN_SAVE_RUNNING,
  PAUSED: VIR_DOMAIN_SAVE_PAUSED,
  RESET_NVRAM: VIR_DOMAIN_SAVE_RESET_NVRAM,
  PARALLEL: VIR_DOMAIN_SAVE_PARALLEL,
} as const;

export { DEFAULT_PARALLEL_CHANNELS };
