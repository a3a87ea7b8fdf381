/**
 * Bounded concurrency for work split by a caller-chosen count (a save's 255 channels must not
 * mean 255 processes or 255 buffers at once).
 */

/**
 * Runs `fn` over `items`, at most `limit` at once, starting them in order. The first failure
 * aborts `ctl` (so running calls can stop early), starts nothing more, waits until the running
 * calls have settled and is then thrown: nothing of the work still runs once this settles.
 */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, ctl?: AbortController): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | null = null;
  const lane = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (err) {
        if (!failure) {
          failure = { err };
          ctl?.abort();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw (failure as { err: unknown }).err;
  return out;
}

/** An AbortController that also aborts when `parent` does. */
export function linkedAbort(parent?: AbortSignal): AbortController {
  const ctl = new AbortController();
  if (parent?.aborted) ctl.abort();
  else parent?.addEventListener('abort', () => ctl.abort(), { once: true });
  return ctl;
}
