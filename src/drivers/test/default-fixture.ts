/**
 * The built-in `test:///default` fixture: libvirt's default test node with one running domain
 * `test`, written as `virsh -c test:///default dumpxml test` shows it.
 */
import type { NodeInfo } from '../types';

/** The default domain, as libvirt 9.0's test driver reports it (inactive form). */
export const DEFAULT_DOMAIN_XML = `<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
`;

/** libvirt's defaultNodeInfo: i686, 3 GiB, 16 CPUs at 1400 MHz, 2 nodes x 2 sockets x 2 cores x 2 threads. */
export const DEFAULT_NODE_INFO: NodeInfo = {
  model: 'i686',
  memory: 3 * 1024 * 1024,
  cpus: 16,
  mhz: 1400,
  nodes: 2,
  sockets: 2,
  cores: 2,
  threads: 2,
};
