/** Multifd save/restore through per-channel files on QEMUs without a file transport. */
export { MultifdSink, type MultifdSinkOptions, type SinkStream } from './sink';
export { feedMultifd, type FeedOptions, type FeedSource } from './feeder';
export { classifyStream, MULTIFD_MAGIC, QEVM_MAGIC, type StreamKind } from './stream-kind';
