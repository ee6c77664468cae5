import t from "tap";
import { forEachConcurrently } from "../src/concurrency.js";

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

t.test("every item once, never more than concurrencyMax at a time", async (t) => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const seen: number[] = [];
  let running = 0;
  let runningMax = 0;
  await forEachConcurrently(items, 4, async (item, index) => {
    t.equal(item, index);
    running++;
    runningMax = Math.max(runningMax, running);
    await tick();
    seen.push(item);
    running--;
  });
  t.same(
    [...seen].sort((a, b) => a - b),
    items,
    "each item once",
  );
  t.equal(runningMax, 4, "four at a time at most, and four reached");
});

t.test("fewer items than the limit, none, and a bad limit", async (t) => {
  const seen: string[] = [];
  await forEachConcurrently(["a", "b"], 16, async (item) => void seen.push(item));
  t.same(seen, ["a", "b"]);
  await forEachConcurrently([], 16, async () => {
    t.fail("no work for no items");
  });
  await t.rejects(
    forEachConcurrently([1], 0, async () => undefined),
    RangeError,
  );
});

t.test("a failure rejects, as Promise.all does", async (t) => {
  await t.rejects(
    forEachConcurrently([1, 2, 3], 2, async (n) => {
      if (n === 2) throw new Error("two failed");
    }),
    { message: "two failed" },
  );
});
