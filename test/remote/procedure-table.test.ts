/**
 * The declarative procedure table is consistent with what it generates: every mapped slot is a
 * slot of the driver table and is on the remote driver, every mapped public method exists (the
 * daemon checks that when it loads), and a wire field a mapping names round-trips through the
 * generated stub and the daemon's generic dispatch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RemoteHypervisor } from '../../src/drivers/remote/remote-hypervisor';
import { GENERATED_SLOTS } from '../../src/drivers/remote/generated-stubs';
import { XdrReader } from '../../src/remote/xdr';
import { PROCEDURE_TABLE } from '../../src/remote/protocol/table';
import '../../src/daemon/mapped-call';

const table = fs.readFileSync(path.join(__dirname, '../../src/drivers/driver-table.ts'), 'utf8');

describe('declarative procedure table', () => {
  const mapped = PROCEDURE_TABLE.filter((p) => p.maps);

  it('maps most calls, each onto a driver-table slot the remote driver has', () => {
    expect(mapped.length).toBeGreaterThanOrEqual(40);
    for (const p of mapped) {
      const slot = p.maps!.slot;
      expect([p.name, new RegExp(`^\\s+${slot}\\?\\(`, 'm').test(table)]).toEqual([p.name, true]);
      expect([p.name, typeof (RemoteHypervisor.prototype as unknown as Record<string, unknown>)[slot]]).toEqual([p.name, 'function']);
    }
    // Legacy procedures share a slot with the current one; no slot has two current procedures.
    expect(GENERATED_SLOTS.size).toBe(mapped.filter((p) => !p.maps!.legacy).length);
  });

  it('names only fields the argument and reply structs have', () => {
    // Zero bytes decode as the smallest value of each struct (0, '', null, []), with every field.
    const keysOf = (t: { decode(r: XdrReader): unknown }): string[] => {
      const v = t.decode(new XdrReader(Buffer.alloc(4096)));
      return v && typeof v === 'object' ? Object.keys(v) : [];
    };
    for (const p of mapped) {
      const m = p.maps!;
      const argKeys = keysOf(p.args);
      for (const a of m.args) if (typeof a === 'string') expect([p.name, argKeys]).toEqual([p.name, expect.arrayContaining([a])]);
      if (m.ret !== undefined && m.ret !== '*') expect([p.name, keysOf(p.ret)]).toEqual([p.name, expect.arrayContaining([m.ret])]);
      // Every argument field is passed on: a field the mapping forgot would be dropped silently.
      expect([p.name, argKeys.filter((k) => !m.args.includes(k))]).toEqual([p.name, []]);
    }
  });
});
