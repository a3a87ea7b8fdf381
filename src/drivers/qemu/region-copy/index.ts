/** Parallel guest RAM copy for the single-file region mode. */
export { copyRegions, splitRegions, REGION_CHUNK, type CopyRegionsOptions, type DataRuns, type RegionDigest } from './copy-regions';
export { ddCopyRegions, type DdCopyOptions } from './dd-copy';
export { prefetchRegions, type Prefetch } from './prefetch';
