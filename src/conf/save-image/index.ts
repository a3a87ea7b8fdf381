/** libvirt's save image header (version 2) and tsvirt's manifest extension. */
export * from './header';
export * from './manifest';
export * from './piece-hash';
export * from './image-file';
export * from './verify';
