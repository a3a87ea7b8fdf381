/**
 * The checksums a manifest records for its pieces. A piece without `algorithm` carries the
 * SHA-256 of all its bytes (every image written before manifest version 2). Pieces holding guest
 * RAM use a zero-skipping digest instead: most of a large guest's memory is zeros, and hashing
 * 4 GiB of them cost ~2.6 s of one core on the reference machine, longer than the copy itself
 * (0.2 s for a mostly-zero 4 GiB guest). Comparing a block with zeros is a memcmp.
 *
 * `<inner>-nonzero-64k`: the piece is cut into 64 KiB blocks from its first byte (the last may
 * be shorter). The digest is the inner hash over, for each block that is not all zeros, its
 * offset in the piece (u64 LE) followed by its bytes; then the piece's length (u64 LE). The
 * encoding is one-to-one with the piece's contents (zero blocks are exactly the absent offsets),
 * so it catches every change a plain hash of all bytes catches, a block zeroed or a hole filled
 * included.
 *
 * Inner hashes: `xxh128` (XXH3, 128 bits, seed 0, canonical big-endian hex), which new images
 * use, and `sha256` (images of the first manifest version 2 writers). The checksums guard against
 * corruption (a bad disk, a truncated copy, a stray write), not forgery: whoever can rewrite the
 * image can rewrite its manifest too, so a cryptographic hash bought nothing, and XXH3 hashes 4 GiB
 * of random RAM in 0.8 s of one core here against SHA-256's 2.8 s (with SHA-NI), the difference
 * between a restore bound by the disk and one bound by the CPU.
 */
import { createHash } from 'node:crypto';
import type { createXXHash128 } from 'hash-wasm';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';

/** Manifest name of the zero-block-skipping digest that new images use. */
export const NONZERO_BLOCK_HASH = 'xxh128-nonzero-64k';
/** The same encoding over SHA-256 (still verified and restored, no longer written). */
export const NONZERO_BLOCK_SHA256 = 'sha256-nonzero-64k';
/** Algorithms a manifest piece may name; absent means plain SHA-256. */
export const PIECE_HASH_ALGORITHMS: readonly string[] = [NONZERO_BLOCK_HASH, NONZERO_BLOCK_SHA256];

/** An incremental hash the zero-skipping encoding feeds (node:crypto's Hash and hash-wasm's hasher both fit). */
export interface InnerHash {
  update(data: Uint8Array): unknown;
  /** Lower-case hex. */
  digest(encoding: 'hex'): string;
}

/** A running checksum of one piece, fed its bytes in order. */
export interface PieceHash {
  /** Feeds the piece's next bytes. */
  update(data: Buffer): void;
  /**
   * Feeds `n` zero bytes: the caller already compared them with zeros (a copy has to, to leave
   * holes), and the zero-skipping digest then needs no second pass over them.
   */
  zeros(n: number): void;
  /** Lower-case hex; call once. */
  digest(): string;
}

/**
 * The zero-skipping encoding over `hash`. Self-contained (nothing from module scope) because
 * worker threads run it from its source text: see file-range-hash.ts.
 */
export function nonZeroBlockHash(hash: InnerHash): PieceHash {
  const BLOCK = 65536;
  const zero = Buffer.alloc(BLOCK);
  const pending = Buffer.allocUnsafe(BLOCK);
  const head = Buffer.alloc(8);
  let fill = 0;
  let pos = 0;
  const u64 = (n: number): Buffer => {
    head.writeUInt32LE(n % 0x100000000, 0);
    head.writeUInt32LE(Math.floor(n / 0x100000000), 4);
    return head;
  };
  const block = (b: Buffer): void => {
    if (!b.equals(b.length === BLOCK ? zero : zero.subarray(0, b.length))) {
      hash.update(u64(pos));
      hash.update(b);
    }
    pos += b.length;
  };
  return {
    update(data: Buffer): void {
      let i = 0;
      if (fill > 0) {
        i = Math.min(BLOCK - fill, data.length);
        data.copy(pending, fill, 0, i);
        fill += i;
        if (fill < BLOCK) return;
        block(pending);
        fill = 0;
      }
      for (; data.length - i >= BLOCK; i += BLOCK) block(data.subarray(i, i + BLOCK));
      if (i < data.length) fill = data.copy(pending, 0, i);
    },
    zeros(n: number): void {
      // Complete a partial block, skip whole zero blocks by offset, keep the tail pending.
      let left = n;
      if (fill > 0) {
        const first = Math.min(BLOCK - fill, left);
        this.update(zero.subarray(0, first));
        left -= first;
      }
      const whole = left - (left % BLOCK);
      pos += whole;
      if (left > whole) this.update(zero.subarray(0, left - whole));
    },
    digest(): string {
      if (fill > 0) block(pending.subarray(0, fill));
      fill = 0;
      hash.update(u64(pos));
      return hash.digest('hex');
    },
  };
}

/** SHA-256 of every byte, behind the same interface. */
function plainHash(): PieceHash {
  const hash = createHash('sha256');
  const zero = Buffer.alloc(65536);
  return {
    update: (data) => void hash.update(data),
    zeros: (n) => {
      for (let left = n; left > 0; left -= Math.min(zero.length, left)) hash.update(zero.subarray(0, Math.min(zero.length, left)));
    },
    digest: () => hash.digest('hex'),
  };
}

/** What {@link innerHashOf} builds the inner hashes from. */
export interface InnerHashLibs {
  createHash: typeof createHash;
  createXXHash128: typeof createXXHash128;
}

/**
 * The inner hash of a zero-skipping algorithm; throws for any other name (callers refuse those
 * first, by name, with checkPieceHashAlgorithm). Self-contained (the names written out, the
 * libraries passed in) because worker threads run it from its source text, so both threads map
 * a name to its hash in one place; they must equal NONZERO_BLOCK_HASH and NONZERO_BLOCK_SHA256
 * (the piece-hash tests hash through both threads under each name).
 */
export async function innerHashOf(algorithm: string, libs: InnerHashLibs): Promise<InnerHash> {
  if (algorithm === 'sha256-nonzero-64k') return libs.createHash('sha256');
  if (algorithm !== 'xxh128-nonzero-64k') throw new Error(`checksum algorithm ${algorithm} has no inner hash`);
  const h = await libs.createXXHash128();
  h.init();
  return { update: (b) => h.update(b), digest: () => h.digest('hex') };
}

/** Refuses an algorithm tsvirt cannot check, by name, before any byte is read. */
export function checkPieceHashAlgorithm(algorithm: string | undefined, domain: ErrorDomain = ErrorDomain.QEMU): void {
  if (algorithm !== undefined && !PIECE_HASH_ALGORITHMS.includes(algorithm)) {
    throw VirError.report(ErrorCode.OPERATION_FAILED, domain, `save image checksum algorithm '${algorithm}' is not supported`);
  }
}

/**
 * hash-wasm on first use: processes that never hash RAM (most tsvirsh commands) do not pay its
 * 12 ms load.
 */
const loadXXHash128: typeof createXXHash128 = (...args) =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('hash-wasm') as typeof import('hash-wasm')).createXXHash128(...args);

/** The hash a piece recorded with `algorithm` (undefined: plain SHA-256) is checked with. */
export async function createPieceHash(algorithm: string | undefined, domain: ErrorDomain = ErrorDomain.QEMU): Promise<PieceHash> {
  checkPieceHashAlgorithm(algorithm, domain);
  if (algorithm === undefined) return plainHash();
  return nonZeroBlockHash(await innerHashOf(algorithm, { createHash, createXXHash128: loadXXHash128 }));
}
