/**
 * Small helpers for tests of drivers and applications: awaiting a VirError and polling a
 * condition. Shipped as `tsvirt/testing` with the conformance suite that uses them.
 */
import { VirError } from '../util/vir-error';

/** Awaits `p` and returns the VirError it rejects with; throws on success or any other error. */
export async function virErrorOf(p: Promise<unknown>): Promise<VirError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof VirError) return err;
    throw new Error(`expected a VirError, got ${String(err)}`);
  }
  throw new Error('expected the call to fail with a VirError, it succeeded');
}

/** Polls `cond` every 10 ms until it holds; throws after `ms` naming `what`. */
export async function waitFor(cond: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
