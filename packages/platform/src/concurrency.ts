// Pure (no Node APIs), also @kuku/platform/concurrency for small processes.
// Bounded concurrency for batches of independent remote work (a reconciler's
// stuck orders, a drill's replays): one at a time measures round trips, all
// at once swamps the callee.

/**
 * Runs `work` on every item, at most `concurrencyMax` at a time, starting
 * them in order. Resolves when all are done; a failure rejects at once, as
 * Promise.all does (the others still run to their end), so callers that must
 * go on past a failure catch inside `work`.
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrencyMax: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(concurrencyMax) || concurrencyMax < 1)
    throw new RangeError(`concurrencyMax must be a positive integer, got ${concurrencyMax}`);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrencyMax, items.length) }, worker));
}
