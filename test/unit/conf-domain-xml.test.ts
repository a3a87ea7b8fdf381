import { formatDomainXML, parseDomainXML } from '../../src/conf/domain-xml';
import { parseMemoryKiB } from '../../src/conf/memory-units';
import { canonicalUuid } from '../../src/conf/uuid';
import { ErrorCode } from '../../src/util/error-codes';
import { VirError } from '../../src/util/vir-error';
import { DEFAULT_DOMAIN_XML } from '../../src/drivers/test/default-fixture';

/** What `virsh -c test:///default dumpxml test` printed on libvirt 9.0 (see /tmp/virsh-ref.txt). */
const VIRSH_DUMPXML = DEFAULT_DOMAIN_XML.replace("<domain type='test'>", "<domain type='test' id='1'>");

function err(fn: () => unknown): VirError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VirError) return e;
    throw e;
  }
  throw new Error('expected a VirError');
}

describe('parseDomainXML / formatDomainXML', () => {
  test('the default fixture formats exactly as virsh dumpxml shows it', () => {
    const def = parseDomainXML(DEFAULT_DOMAIN_XML);
    expect(def).toMatchObject({
      type: 'test',
      name: 'test',
      uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f',
      memory: 8388608,
      currentMemory: 2097152,
      vcpu: 2,
      os: { type: 'hvm', arch: 'i686' },
      onPoweroff: 'destroy',
      onReboot: 'restart',
      onCrash: 'destroy',
    });
    expect(def.devices.map((d) => d.kind)).toEqual(['disk', 'interface', 'memballoon']);
    expect(def.devices[0]).toMatchObject({ type: 'file', device: 'disk', target: 'vda', source: '/guest/diskimage1' });
    expect(formatDomainXML(def, { id: 1 })).toBe(VIRSH_DUMPXML);
    expect(formatDomainXML(def, { id: 1, inactive: true })).toBe(DEFAULT_DOMAIN_XML);
  });

  test('unmodeled elements, attributes and foreign namespaces round-trip unchanged', () => {
    const xml = `<domain type="kvm" xmlns:test="http://libvirt.org/schemas/domain/test/1.0">
  <name>vm1</name>
  <uuid>AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee</uuid>
  <metadata><app:info xmlns:app="urn:x">a &amp; b &lt;c&gt;</app:info></metadata>
  <memory unit="GiB">1</memory>
  <vcpu placement="auto" current="1">4</vcpu>
  <os><type arch="x86_64" machine="pc-q35-7.2">hvm</type><loader readonly="yes">/fw.bin</loader></os>
  <features><acpi/><apic eoi="on"/></features>
  <devices><emulator>/usr/bin/qemu</emulator><disk type="file" device="cdrom"><source file="/x'y.iso"/><target dev="sda"/></disk></devices>
  <test:runstate>5</test:runstate>
</domain>`;
    const def = parseDomainXML(xml);
    expect(def.uuid).toBe('aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee');
    expect(def.memory).toBe(1048576);
    expect(def.currentMemory).toBe(1048576);
    expect(def.vcpu).toBe(4);
    expect(def.os).toEqual({ type: 'hvm', arch: 'x86_64', machine: 'pc-q35-7.2' });
    const out = formatDomainXML(def, { inactive: true });
    expect(out).toContain("<app:info xmlns:app='urn:x'>a &amp; b &lt;c&gt;</app:info>");
    expect(out).toContain("<vcpu placement='auto' current='1'>4</vcpu>");
    expect(out).toContain("<loader readonly='yes'>/fw.bin</loader>");
    expect(out).toContain("<apic eoi='on'/>");
    expect(out).toContain("<source file='/x&apos;y.iso'/>");
    expect(out).toContain('<test:runstate>5</test:runstate>');
    expect(out).toContain("<currentMemory unit='KiB'>1048576</currentMemory>");
    // currentMemory is inserted right after memory, lifecycle actions before devices
    expect(out.indexOf('<currentMemory')).toBeGreaterThan(out.indexOf('<memory'));
    expect(out.indexOf('<on_crash>')).toBeLessThan(out.indexOf('<devices>'));
    // a second round trip is a fixed point
    expect(formatDomainXML(parseDomainXML(out), { inactive: true })).toBe(out);
  });

  test('a missing uuid gets a random v4 one; typed edits are written back', () => {
    const a = parseDomainXML("<domain type='test'><name>x</name><os><type>hvm</type></os></domain>");
    const b = parseDomainXML("<domain type='test'><name>x</name><os><type>hvm</type></os></domain>");
    expect(a.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.uuid).not.toBe(b.uuid);
    expect(a.vcpu).toBe(1);
    a.memory = 4096;
    a.currentMemory = 2048;
    a.name = 'renamed';
    const out = formatDomainXML(a, { id: 7 });
    expect(out.split('\n')[0]).toBe("<domain type='test' id='7'>");
    expect(out).toContain('<name>renamed</name>');
    expect(out).toContain(`<uuid>${a.uuid}</uuid>`);
    expect(out).toContain("<memory unit='KiB'>4096</memory>");
    expect(parseDomainXML(out).currentMemory).toBe(2048);
  });

  test.each([
    ['b', '2048', 2],
    ['bytes', '1025', 2],
    ['KiB', '7', 7],
    ['k', '7', 7],
    ['KB', '2048', 2000],
    ['MiB', '3', 3072],
    ['M', '3', 3072],
    ['MB', '1', 977],
    ['GiB', '2', 2097152],
    ['G', '1', 1048576],
    ['GB', '1', 976563],
    ['TiB', '1', 1073741824],
    [undefined, '5', 5],
  ])('memory unit %s: %s -> %d KiB', (unit, text, kib) => {
    expect(parseMemoryKiB(text, unit, './memory[1]')).toBe(kib);
  });

  test('errors follow libvirt', () => {
    const malformed = err(() => parseDomainXML('<domain type="test"><name>x</nam></domain>'));
    expect(malformed.code).toBe(ErrorCode.XML_ERROR);
    expect(malformed.message).toMatch(/^XML error: \(domain_definition\):1: /);
    expect(err(() => parseDomainXML('')).code).toBe(ErrorCode.XML_ERROR);
    expect(err(() => parseDomainXML("<domain type='test'><os><type>hvm</type></os></domain>")).message).toBe(
      'XML error: missing name information',
    );
    expect(err(() => parseDomainXML("<network><name>x</name></network>")).message).toBe(
      'XML error: unexpected root element <network>, expecting <domain>',
    );
    const badUuid = err(() => parseDomainXML("<domain type='test'><name>x</name><uuid>zz</uuid><os><type>hvm</type></os></domain>"));
    expect(badUuid.code).toBe(ErrorCode.INTERNAL_ERROR);
    expect(badUuid.message).toBe('internal error: malformed uuid element');
    const badMem = err(() => parseDomainXML("<domain type='test'><name>x</name><memory>12x</memory><os><type>hvm</type></os></domain>"));
    expect(badMem.code).toBe(ErrorCode.XML_ERROR);
    expect(badMem.message).toBe("XML error: Invalid value '12x' for element or attribute './memory[1]'");
    const badUnit = err(() => parseDomainXML("<domain type='test'><name>x</name><memory unit='qb'>1</memory><os><type>hvm</type></os></domain>"));
    expect(badUnit.code).toBe(ErrorCode.INVALID_ARG);
    expect(badUnit.message).toBe("invalid argument: unknown suffix 'qb'");
    expect(err(() => parseDomainXML("<domain><name>x</name><os><type>hvm</type></os></domain>")).code).toBe(ErrorCode.XML_ERROR);
    expect(err(() => parseDomainXML("<domain type='nope'><name>x</name><os><type>hvm</type></os></domain>")).code).toBe(ErrorCode.XML_ERROR);
    expect(err(() => parseDomainXML("<domain type='test'><name>x</name></domain>")).message).toBe(
      'XML error: an os <type> must be specified',
    );
  });

  test('canonicalUuid accepts libvirt spellings', () => {
    expect(canonicalUuid('6695EB01F6A4830479AA97F2502E193F')).toBe('6695eb01-f6a4-8304-79aa-97f2502e193f');
    expect(canonicalUuid('6695eb01-f6a4-8304-79aa-97f2502e193')).toBeUndefined();
  });
});
