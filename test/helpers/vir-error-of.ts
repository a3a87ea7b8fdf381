import { VirError } from '../../src/util/vir-error';

/** Awaits `p` and returns the VirError it rejects with; fails the test on success or any other error. */
export async function virErrorOf(p: Promise<unknown>): Promise<VirError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof VirError) return err;
    throw new Error(`expected a VirError, got ${String(err)}`);
  }
  throw new Error('expected the call to fail with a VirError, it succeeded');
}
