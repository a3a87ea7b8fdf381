/** Domain XML device helpers: MAC addresses, disk target indexes, PCI addresses, device order. */
import { diskNameToIndex } from '../../src/conf/domain/disk-target';
import { insertDevice, sortDevices } from '../../src/conf/domain/device-order';
import { generateMacAddress, parseMacAddress } from '../../src/conf/domain/mac-address';
import { pciAddressOf, PciAddressSet } from '../../src/conf/domain/pci-address';
import { children, element, parseXmlDocument } from '../../src/conf/xml-tree';
import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import { VirError } from '../../src/util/vir-error';

function errorOf(fn: () => unknown): VirError {
  try {
    fn();
  } catch (e) {
    return e as VirError;
  }
  throw new Error('no error');
}

describe('MAC addresses', () => {
  it('normalises case and single digits, refuses malformed and multicast ones as libvirt', () => {
    expect(parseMacAddress('52:54:00:AB:c:01')).toBe('52:54:00:ab:0c:01');
    const bad = errorOf(() => parseMacAddress('52:54:00:zz:00:01'));
    expect([bad.code, bad.domain, bad.message]).toEqual([ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, "XML error: unable to parse mac address '52:54:00:zz:00:01'"]);
    expect(errorOf(() => parseMacAddress('52:54:00:00:01')).code).toBe(ErrorCode.XML_ERROR);
    expect(errorOf(() => parseMacAddress('01:00:5e:00:00:01')).message).toBe("XML error: expected unicast mac address, found multicast '01:00:5e:00:00:01'");
  });

  it('generates distinct 52:54:00 addresses that parse back unchanged', () => {
    const taken = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const m = generateMacAddress(taken);
      expect(m).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
      expect(parseMacAddress(m)).toBe(m);
      expect(taken.has(m)).toBe(false);
      taken.add(m);
    }
  });
});

describe('disk target names', () => {
  it.each([['vda', 0], ['sdb', 1], ['hdc', 2], ['hdd', 3], ['sdz', 25], ['sdaa', 26], ['vdab', 27]])('%s -> %d', (name, idx) => {
    expect(diskNameToIndex(name)).toBe(idx);
  });
  it('refuses a name without a known prefix and letters', () => {
    expect(errorOf(() => diskNameToIndex('disk0')).code).toBe(ErrorCode.XML_ERROR);
    expect(errorOf(() => diskNameToIndex('vd1')).code).toBe(ErrorCode.XML_ERROR);
  });
});

describe('PCI addresses', () => {
  it('reads hex and decimal values and refuses out-of-range ones', () => {
    const dev = parseXmlDocument("<interface><address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='7'/></interface>", 'x');
    expect(pciAddressOf(dev)).toEqual({ domain: 0, bus: 0, slot: 31, function: 7, multifunction: undefined });
    const big = parseXmlDocument("<interface><address type='pci' slot='0x20'/></interface>", 'x');
    expect(errorOf(() => pciAddressOf(big)).code).toBe(ErrorCode.XML_ERROR);
  });

  it('a second claim is libvirt\'s double-use error; next() skips used slots', () => {
    const set = new PciAddressSet();
    set.claim({ domain: 0, bus: 0, slot: 2, function: 0 });
    set.claim({ domain: 0, bus: 0, slot: 3, function: 1 });
    expect(errorOf(() => set.claim({ domain: 0, bus: 0, slot: 2, function: 0 })).message).toBe('XML error: Attempted double use of PCI Address 0000:00:02.0');
    expect(set.next(0, 2)).toEqual({ domain: 0, bus: 0, slot: 4, function: 0 });
  });
});

describe('device order', () => {
  it('sorts kinds in libvirt\'s order, stable within a kind, and inserts after the last of a kind', () => {
    const devs = parseXmlDocument("<devices><memballoon model='virtio'/><serial type='pty'/><disk device='cdrom'/><interface type='user'/><disk device='disk'/></devices>", 'x');
    sortDevices(devs);
    expect(children(devs).map((d) => `${d.name}${d.attrs[0]?.[1] ? `:${d.attrs[0][1]}` : ''}`)).toEqual(['disk:cdrom', 'disk:disk', 'interface:user', 'serial:pty', 'memballoon:virtio']);
    insertDevice(devs, element('input', [['type', 'mouse']]));
    insertDevice(devs, element('controller', [['type', 'usb']]));
    expect(children(devs).map((d) => d.name)).toEqual(['disk', 'disk', 'controller', 'interface', 'serial', 'input', 'memballoon']);
  });
});
