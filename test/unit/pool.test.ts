/**
 * mapPool: never more than `limit` calls at once, results in item order, and on a failure it
 * aborts the controller, starts nothing more and settles only once the running calls have.
 */
import { linkedAbort, mapPool } from '../../src/util/pool';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('bounded, ordered results', async () => {
  let running = 0;
  let peak = 0;
  const out = await mapPool([5, 1, 4, 2, 3, 0, 6, 7, 8, 9], 3, async (x) => {
    peak = Math.max(peak, ++running);
    await tick(x * 3);
    running--;
    return x * 10;
  });
  expect(out).toEqual([50, 10, 40, 20, 30, 0, 60, 70, 80, 90]);
  expect(peak).toBe(3);
  expect(await mapPool([], 4, async () => 1)).toEqual([]);
});

test('a failure aborts, starts nothing more and waits for the running calls', async () => {
  const started: number[] = [];
  const finished: number[] = [];
  const ctl = linkedAbort();
  const err = await mapPool(
    [0, 1, 2, 3, 4, 5],
    2,
    async (x) => {
      started.push(x);
      if (x === 1) throw new Error('boom');
      await tick(30);
      finished.push(x);
      return x;
    },
    ctl,
  ).catch((e: Error) => e);
  expect((err as Error).message).toBe('boom');
  expect(ctl.signal.aborted).toBe(true);
  // 0 was running when 1 failed; it finished before the pool settled, and 2.. never started.
  expect(started).toEqual([0, 1]);
  expect(finished).toEqual([0]);
});

test('linkedAbort follows its parent', () => {
  const parent = new AbortController();
  const child = linkedAbort(parent.signal);
  expect(child.signal.aborted).toBe(false);
  parent.abort();
  expect(child.signal.aborted).toBe(true);
  expect(linkedAbort(parent.signal).signal.aborted).toBe(true);
});
