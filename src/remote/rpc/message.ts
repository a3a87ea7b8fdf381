/**
 * libvirt's RPC framing (virnetprotocol.x): every message is a 4-byte total length, a 24-byte
 * header and an XDR body. Replies are matched to calls by serial, so the header is all the
 * transport needs to route a message; the body is decoded later against the procedure table.
 */
import { xdrError } from '../xdr/errors';
import { XdrReader } from '../xdr/reader';
import { XdrWriter } from '../xdr/writer';
import type { XdrType } from '../xdr/types';

/** Program number of the remote (libvirt API) protocol. */
export const REMOTE_PROGRAM = 0x20008086;
/** Version of the remote protocol. */
export const REMOTE_PROTOCOL_VERSION = 1;
/** Program number of the keepalive protocol ("keep"). */
export const KEEPALIVE_PROGRAM = 0x6b656570;
/** Version of the keepalive protocol. */
export const KEEPALIVE_PROTOCOL_VERSION = 1;
/** Keepalive procedures: both travel as MESSAGE with serial 0 and an empty body. */
export enum KeepaliveProcedure {
  PING = 1,
  PONG = 2,
}

/** Size of the length word. */
export const MESSAGE_LEN_SIZE = 4;
/** Size of the header after the length word. */
export const MESSAGE_HEADER_SIZE = 24;
/** Smallest valid frame: length word plus header, empty body. */
export const MESSAGE_MIN = MESSAGE_LEN_SIZE + MESSAGE_HEADER_SIZE;
/** Largest frame libvirt accepts (VIR_NET_MESSAGE_MAX, 32 MiB). */
export const MESSAGE_MAX = 33554432;
/** libvirt's first allocation for a message (VIR_NET_MESSAGE_INITIAL, 64 KiB). */
export const MESSAGE_INITIAL = 65536;
/** Largest string libvirt sends (VIR_NET_MESSAGE_STRING_MAX, 4 MiB). */
export const MESSAGE_STRING_MAX = 4194304;
/** Most file descriptors one message may carry. */
export const MESSAGE_NUM_FDS_MAX = 32;

/** virNetMessageType. */
export enum MessageType {
  CALL = 0,
  REPLY = 1,
  MESSAGE = 2,
  STREAM = 3,
  CALL_WITH_FDS = 4,
  REPLY_WITH_FDS = 5,
  STREAM_HOLE = 6,
}

/** virNetMessageStatus. */
export enum MessageStatus {
  OK = 0,
  ERROR = 1,
  CONTINUE = 2,
}

/** The 24-byte header that follows the length word. */
export interface MessageHeader {
  prog: number;
  vers: number;
  proc: number;
  type: number;
  serial: number;
  status: number;
}

/** A decoded frame: header plus the raw XDR body (a view into the frame). */
export interface RpcMessage {
  header: MessageHeader;
  body: Buffer;
}

/** True when `type` is one of the message types libvirt defines. */
export function isKnownMessageType(type: number): type is MessageType {
  return Number.isInteger(type) && type >= MessageType.CALL && type <= MessageType.STREAM_HOLE;
}

/** Checks a frame length word before anything of the frame is buffered. */
export function checkFrameLength(len: number, max = MESSAGE_MAX): void {
  if (len < MESSAGE_MIN) throw xdrError(`packet ${len} bytes received from peer is too small (minimum ${MESSAGE_MIN})`);
  if (len > max) throw xdrError(`packet ${len} bytes received from peer is too large (maximum ${max})`);
}

/**
 * Builds one frame. The body is either already encoded bytes, or a value with the XDR type that
 * describes it; the length word is back-patched once the body size is known.
 */
export function encodeMessage<T>(header: MessageHeader, body?: Uint8Array | { type: XdrType<T>; value: T }): Buffer {
  // A raw body gives the exact size; a typed one starts small, as most calls are tiny.
  const w = new XdrWriter(body instanceof Uint8Array ? MESSAGE_MIN + body.length : 1024);
  w.writeUint(0);
  w.writeUint(header.prog);
  w.writeUint(header.vers);
  w.writeInt(header.proc);
  w.writeInt(header.type);
  w.writeUint(header.serial);
  w.writeInt(header.status);
  if (body instanceof Uint8Array) w.writeRaw(body);
  else if (body) body.type.encode(w, body.value);
  if (w.length > MESSAGE_MAX) throw xdrError(`message length ${w.length} exceeds maximum ${MESSAGE_MAX}`);
  w.writeUintAt(0, w.length);
  // The writer is private to this call, so its bytes can be handed out without a copy.
  return w.toBuffer();
}

/** Decodes a whole frame (length word included); the length word must match the frame size. */
export function decodeMessage(frame: Buffer): RpcMessage {
  const r = new XdrReader(frame);
  const len = r.readUint();
  checkFrameLength(len);
  if (len !== frame.length) throw xdrError(`message length ${len} does not match frame size ${frame.length}`);
  const header: MessageHeader = {
    prog: r.readUint(),
    vers: r.readUint(),
    proc: r.readInt(),
    type: r.readInt(),
    serial: r.readUint(),
    status: r.readInt(),
  };
  return { header, body: frame.subarray(MESSAGE_MIN) };
}

/** A keepalive PING or PONG frame (len 28, MESSAGE, serial 0, no body). */
export function encodeKeepalive(proc: KeepaliveProcedure): Buffer {
  return encodeMessage({
    prog: KEEPALIVE_PROGRAM,
    vers: KEEPALIVE_PROTOCOL_VERSION,
    proc,
    type: MessageType.MESSAGE,
    serial: 0,
    status: MessageStatus.OK,
  });
}

/** Staging buffer size for small pieces of a frame (see FrameSplitter.addPart). */
const STAGE_SIZE = 65536;

/**
 * Cuts a byte stream into frames. A frame's length word is validated as soon as its 4 bytes are
 * in, before any of the body is buffered, so a peer announcing 4 GiB costs us nothing. The body
 * is kept as the chunks that actually arrived and joined once, when complete: memory follows
 * what the peer sent, not what it announced (a peer announcing 32 MiB and sending nothing holds
 * a few bytes, not 32 MiB), and a 32 MiB message arriving in 64 KiB chunks is copied once, not
 * re-concatenated per chunk. After an error the stream is out of sync, so every later push
 * rethrows it: the connection must be closed.
 */
export class FrameSplitter {
  private readonly lenBuf = Buffer.alloc(MESSAGE_LEN_SIZE);
  private lenHave = 0;
  /** Length of the frame being gathered (0: none). */
  private frameLen = 0;
  private parts: Buffer[] = [];
  private stage: Buffer | null = null;
  private stageUsed = 0;
  private frameHave = 0;
  private failure: Error | null = null;

  /** @param maxLength largest frame accepted (defaults to libvirt's 32 MiB). */
  constructor(private readonly maxLength = MESSAGE_MAX) {}

  /** Bytes buffered towards the next, still incomplete frame. */
  get pendingBytes(): number {
    return this.frameLen ? this.frameHave : this.lenHave;
  }

  /** Feeds a chunk; returns the frames it completed (length word included), in order. */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw this.failure;
    try {
      return this.consume(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (err) {
      this.failure = err as Error;
      this.parts = [];
      this.stage = null;
      throw err;
    }
  }

  /**
   * Keeps `len` bytes of `src` at `off` for the frame being gathered. Large pieces are kept as
   * views (stream chunks are fresh buffers nobody writes again); small ones are copied into a
   * staging buffer, so a peer dripping one byte per packet costs one buffer per STAGE_SIZE
   * bytes, not one per byte.
   */
  private addPart(src: Buffer, off: number, len: number): void {
    if (len >= STAGE_SIZE / 4) {
      this.flushStage();
      this.parts.push(src.subarray(off, off + len));
      return;
    }
    if (this.stage && this.stageUsed + len > this.stage.length) this.flushStage();
    this.stage ??= Buffer.allocUnsafe(Math.min(STAGE_SIZE, this.frameLen));
    src.copy(this.stage, this.stageUsed, off, off + len);
    this.stageUsed += len;
  }

  private flushStage(): void {
    if (this.stage && this.stageUsed > 0) this.parts.push(this.stage.subarray(0, this.stageUsed));
    this.stage = null;
    this.stageUsed = 0;
  }

  private consume(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (!this.frameLen) {
        if (this.lenHave === 0 && chunk.length - off >= MESSAGE_LEN_SIZE) {
          const len = chunk.readUInt32BE(off);
          checkFrameLength(len, this.maxLength);
          if (chunk.length - off >= len) {
            // Whole frame inside this chunk: hand out a view, no copy.
            out.push(chunk.subarray(off, off + len));
            off += len;
            continue;
          }
          this.frameLen = len;
          this.frameHave = 0;
          continue;
        }
        const take = Math.min(MESSAGE_LEN_SIZE - this.lenHave, chunk.length - off);
        chunk.copy(this.lenBuf, this.lenHave, off, off + take);
        this.lenHave += take;
        off += take;
        if (this.lenHave < MESSAGE_LEN_SIZE) break;
        const len = this.lenBuf.readUInt32BE(0);
        checkFrameLength(len, this.maxLength);
        this.lenHave = 0;
        this.frameLen = len;
        this.parts = [];
        this.addPart(this.lenBuf, 0, MESSAGE_LEN_SIZE);
        this.frameHave = MESSAGE_LEN_SIZE;
        continue;
      }
      const take = Math.min(this.frameLen - this.frameHave, chunk.length - off);
      this.addPart(chunk, off, take);
      this.frameHave += take;
      off += take;
      if (this.frameHave === this.frameLen) {
        this.flushStage();
        out.push(Buffer.concat(this.parts, this.frameLen));
        this.parts = [];
        this.frameLen = 0;
        this.frameHave = 0;
      }
    }
    return out;
  }
}
