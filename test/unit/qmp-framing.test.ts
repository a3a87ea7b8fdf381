import fc from 'fast-check';
import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import { LineFramer } from '../../src/drivers/qemu/qmp/framing';

describe('QMP LineFramer', () => {
  it('returns nothing until a line is complete, then the whole line', () => {
    const f = new LineFramer();
    expect(f.push(Buffer.from('{"return"')).lines).toEqual([]);
    expect(f.push(Buffer.from(': {}, "id"')).lines).toEqual([]);
    expect(f.push(Buffer.from(': "a"}\r')).lines).toEqual([]);
    expect(f.push(Buffer.from('\n')).lines).toEqual(['{"return": {}, "id": "a"}']);
    expect(f.remainder).toBe('');
  });

  it('splits several objects in one chunk and keeps the trailing partial one', () => {
    const f = new LineFramer();
    const r = f.push(Buffer.from('{"a":1}\r\n{"b":2}\n\r\n{"c":'));
    expect(r.lines).toEqual(['{"a":1}', '{"b":2}']);
    expect(f.remainder).toBe('{"c":');
    expect(f.push(Buffer.from('3}\r\n')).lines).toEqual(['{"c":3}']);
  });

  it('reassembles a UTF-8 character cut across two chunks', () => {
    const f = new LineFramer();
    const bytes = Buffer.from('{"desc":"caf\u00e9 \u2603"}\r\n', 'utf8');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two-byte "é"
    expect(f.push(bytes.subarray(0, cut)).lines).toEqual([]);
    expect(f.push(bytes.subarray(cut)).lines).toEqual(['{"desc":"caf\u00e9 \u2603"}']);
  });

  it('yields the same lines however the byte stream is cut (property)', () => {
    const msg = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(fc.integer(), fc.string(), fc.boolean()));
    fc.assert(
      fc.property(fc.array(msg, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 10 }), (objs, cuts) => {
        const lines = objs.map((o) => JSON.stringify(o));
        const bytes = Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'utf8');
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const f = new LineFramer();
        const got: string[] = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          got.push(...f.push(bytes.subarray(prev, p)).lines);
          prev = p;
        }
        expect(got).toEqual(lines);
      }),
      { numRuns: 200 },
    );
  });

  it('fails with INTERNAL_ERROR once a line exceeds the limit, and stays failed', () => {
    const f = new LineFramer(16);
    const first = f.push(Buffer.from('{"ok":1}\n' + 'x'.repeat(17)));
    expect(first.lines).toEqual(['{"ok":1}']);
    expect(first.error).toMatchObject({
      code: ErrorCode.INTERNAL_ERROR,
      domain: ErrorDomain.QEMU,
      message: 'internal error: QEMU monitor reply exceeds buffer size (16 bytes)',
    });
    const later = f.push(Buffer.from('{"a":1}\n'));
    expect(later.lines).toEqual([]);
    expect(later.error?.code).toBe(ErrorCode.INTERNAL_ERROR);
  });

  it('accepts a line of exactly the limit', () => {
    const f = new LineFramer(8);
    expect(f.push(Buffer.from('{"a":12}\r\n'))).toEqual({ lines: ['{"a":12}'] });
  });
});
