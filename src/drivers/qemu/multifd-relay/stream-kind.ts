/**
 * Telling QEMU's migration connections apart by their first bytes (QEMU 7.2 multifd):
 * the main stream starts with "QEVM"; each multifd channel starts with a 64-byte init packet,
 * big-endian magic 0x11223344, version 1, the source's uuid, and the 0-based channel id at byte 24.
 */

/** First bytes of a QEMU migration main stream. */
export const QEVM_MAGIC = Buffer.from('QEVM', 'latin1');
/** Magic of a multifd channel's init packet (and of its data packets). */
export const MULTIFD_MAGIC = 0x11223344;
/** Size of the multifd init packet. */
export const MULTIFD_INIT_SIZE = 64;

/** What a connection turned out to be. */
export type StreamKind = { kind: 'main' } | { kind: 'channel'; id: number; uuid: Buffer } | { kind: 'unknown' };

/** Bytes needed before a connection can be classified. */
export function bytesNeededToClassify(head: Buffer): number {
  if (head.length >= 4 && head.subarray(0, 4).equals(QEVM_MAGIC)) return 4;
  return MULTIFD_INIT_SIZE;
}

/** Classifies a connection from its first bytes (at least bytesNeededToClassify of them). */
export function classifyStream(head: Buffer): StreamKind {
  if (head.length >= 4 && head.subarray(0, 4).equals(QEVM_MAGIC)) return { kind: 'main' };
  if (head.length >= MULTIFD_INIT_SIZE && head.readUInt32BE(0) === MULTIFD_MAGIC && head.readUInt32BE(4) === 1) {
    return { kind: 'channel', id: head[24], uuid: Buffer.from(head.subarray(8, 24)) };
  }
  return { kind: 'unknown' };
}
