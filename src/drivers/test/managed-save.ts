/**
 * Managed save for the test driver: the image lives in the state's temporary directory
 * (os.tmpdir()/tsvirt-test-<pid>/<name>.save); starting the domain restores from it and
 * removes it.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { checkFlags } from '../common/check-flags';
import { resolveSaveOptions } from '../common/save-options';
import { VIR_DOMAIN_SAVE_BYPASS_CACHE, VIR_DOMAIN_SAVE_PAUSED, VIR_DOMAIN_SAVE_RUNNING } from '../common/save-flags';
import type { DomainRef } from '../types';
import { removeSaveImageFiles } from '../../conf/save-image';
import { boot, hasManagedSaveFile } from './lifecycle';
import { CreateFlags } from '../common/domain-flags';
import { restoreImage, saveImageDefineXML, saveImageGetXMLDesc } from './restore';
import { performSave, type TestContext } from './save';

/** virDomainManagedSave. */
export async function managedSave(ctx: TestContext, ref: DomainRef, flags: number): Promise<void> {
  checkFlags(
    flags,
    VIR_DOMAIN_SAVE_BYPASS_CACHE | VIR_DOMAIN_SAVE_RUNNING | VIR_DOMAIN_SAVE_PAUSED,
    'testDomainManagedSave',
    ErrorDomain.TEST,
  );
  await performSave(ctx, ref, resolveSaveOptions([], flags, ErrorDomain.TEST));
}

/** virDomainHasManagedSaveImage. */
export async function hasManagedSave(ctx: TestContext, ref: DomainRef, flags: number): Promise<boolean> {
  checkFlags(flags, 0, 'testDomainHasManagedSaveImage', ErrorDomain.TEST);
  return hasManagedSaveFile(ctx.state, ctx.state.resolve(ref));
}

/** virDomainManagedSaveRemove. */
export async function managedSaveRemove(ctx: TestContext, ref: DomainRef, flags: number): Promise<void> {
  checkFlags(flags, 0, 'testDomainManagedSaveRemove', ErrorDomain.TEST);
  const d = ctx.state.resolve(ref);
  await removeSaveImageFiles(ctx.state.managedSavePath(d), ErrorDomain.TEST);
}

/** The domain's managed save image; OPERATION_INVALID when it has none. */
async function managedImage(ctx: TestContext, ref: DomainRef): Promise<string> {
  const d = ctx.state.resolve(ref);
  if (!(await hasManagedSaveFile(ctx.state, d))) {
    throw VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.TEST, 'domain does not have managed save image');
  }
  return ctx.state.managedSavePath(d);
}

/** virDomainManagedSaveGetXMLDesc. */
export async function managedSaveGetXMLDesc(ctx: TestContext, ref: DomainRef, flags: number): Promise<string> {
  return saveImageGetXMLDesc(await managedImage(ctx, ref), flags, 'testDomainManagedSaveGetXMLDesc');
}

/** virDomainManagedSaveDefineXML. */
export async function managedSaveDefineXML(ctx: TestContext, ref: DomainRef, dxml: string, flags: number): Promise<void> {
  await saveImageDefineXML(await managedImage(ctx, ref), dxml, flags, 'testDomainManagedSaveDefineXML');
}

/**
 * virDomainCreateWithFlags: restores from the managed save image when there is one (and
 * removes it, channel files included), unless FORCE_BOOT discards it; else boots. The caller
 * handles START_AUTODESTROY (it belongs to the connection).
 */
export async function createDomain(ctx: TestContext, ref: DomainRef, flags: number): Promise<DomainRef> {
  checkFlags(flags, 0xf, 'testDomainCreateWithFlags', ErrorDomain.TEST);
  const { state } = ctx;
  const d = state.resolve(ref);
  if (state.isActive(d)) {
    throw VirError.report(ErrorCode.OPERATION_INVALID, ErrorDomain.TEST, 'domain is already running');
  }
  const path = state.managedSavePath(d);
  if (await hasManagedSaveFile(state, d)) {
    if (flags & CreateFlags.START_FORCE_BOOT) {
      await removeSaveImageFiles(path, ErrorDomain.TEST);
    } else {
      const opts = resolveSaveOptions([], flags & CreateFlags.START_PAUSED ? VIR_DOMAIN_SAVE_PAUSED : 0, ErrorDomain.TEST);
      const started = await restoreImage(ctx, path, opts, true);
      await removeSaveImageFiles(path, ErrorDomain.TEST);
      return started;
    }
  }
  return boot(state, d, flags);
}
