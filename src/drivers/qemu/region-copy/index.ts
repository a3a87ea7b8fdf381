/** Parallel guest RAM copy for the single-file region mode. */
export { chunkBuffersFor, copyRegions, splitRegions, REGION_CHUNK, type CopyRegionsOptions, type DataRuns, type RegionDigest } from './copy-regions';
export { ddCopyRegions, type DdCopyOptions } from './dd-copy';
export { prefetchRegions, type Prefetch } from './prefetch';
export { alignedChunks, isDirectIoRefusal, openDirectRead } from './direct-read';
export { restoreRegions, type RestoreRegionsOptions } from './restore-regions';
