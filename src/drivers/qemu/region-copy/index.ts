/** Parallel guest RAM copy for the single-file region mode. */
export { copyRegions, splitRegions, REGION_CHUNK, type CopyRegionsOptions, type RegionDigest } from './copy-regions';
export { ddCopyRegions, type DdCopyOptions } from './dd-copy';
