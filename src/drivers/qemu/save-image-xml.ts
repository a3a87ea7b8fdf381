/**
 * The XML inside a QEMU save image, read and replaced in place: one implementation for
 * save-image-dumpxml/-define (any image file) and managedsave-dumpxml/-define (the domain's
 * managed image), as libvirt's QEMU driver shares it.
 */
import { parseDomainXML } from '../../conf/domain-xml';
import { readSaveImageHeader, rewriteSaveImage } from '../../conf/save-image';
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import { VIR_DOMAIN_SAVE_PAUSED, VIR_DOMAIN_SAVE_RUNNING } from '../common/save-flags';

/** VIR_DOMAIN_SAVE_IMAGE_XML_SECURE (= VIR_DOMAIN_XML_SECURE). */
const XML_SECURE = 1;

/** The domain XML stored in the image `file`; `fn` names the API in a flags error. */
export async function imageXML(file: string, flags: number, fn: string): Promise<string> {
  checkFlags(flags, XML_SECURE, fn, ErrorDomain.QEMU);
  return (await readSaveImageHeader(file, ErrorDomain.QEMU)).xml;
}

/**
 * Replaces the XML in the image `file` by `dxml`, which must describe the same domain (name and
 * UUID); RUNNING / PAUSED also rewrite the state the guest resumes in.
 */
export async function defineImageXML(file: string, dxml: string, flags: number, fn: string): Promise<void> {
  checkFlags(flags, VIR_DOMAIN_SAVE_RUNNING | VIR_DOMAIN_SAVE_PAUSED, fn, ErrorDomain.QEMU);
  const info = await readSaveImageHeader(file, ErrorDomain.QEMU);
  const cur = parseDomainXML(info.xml);
  const next = parseDomainXML(dxml);
  // libvirt compares the UUID first.
  if (next.uuid !== cur.uuid) {
    throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, `Target domain uuid ${next.uuid} does not match source ${cur.uuid}`);
  }
  if (next.name !== cur.name) {
    throw VirError.report(ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU, `Target domain name '${next.name}' does not match source '${cur.name}'`);
  }
  await rewriteSaveImage(file, {
    xml: dxml,
    wasRunning: flags & VIR_DOMAIN_SAVE_RUNNING ? true : flags & VIR_DOMAIN_SAVE_PAUSED ? false : undefined,
    domain: ErrorDomain.QEMU,
  });
}
