// Work over many containers, a bounded number at a time (--parallel): each one an engine
// exec, and a small host should not run two hundred of them at once.

/** Runs `work` over `items`, at most `limit` at a time, keeping the order of `items`. */
export async function inPool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
