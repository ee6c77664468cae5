// withRedlock against the three real Redis servers: one holder at a time on
// a resource, a clear error when the quorum is not reached in time (soon
// when the servers are down), and bounded jittered backoff.
import { randomUUID } from "node:crypto";
import { type AddressInfo, createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { connectRedlock, jitteredBackoffMs, LockNotAcquiredError, withRedlock } from "../src/redlock.js";

const NODES = [6379, 6380, 6381].map((port) => ({ host: "127.0.0.1", port }));

t.test("one holder at a time; a second caller waits for the release", async (t) => {
  const { redlock, close } = connectRedlock(NODES);
  t.teardown(close);
  const key = `platform-test:${randomUUID()}`;
  const order: string[] = [];
  await Promise.all(
    ["a", "b", "c"].map((name) =>
      withRedlock(redlock, [key], 2_000, async () => {
        order.push(`${name} in`);
        await sleep(30);
        order.push(`${name} out`);
      }),
    ),
  );
  t.equal(order.length, 6);
  for (let i = 0; i < 6; i += 2)
    t.equal(order[i]!.split(" ")[0], order[i + 1]!.split(" ")[0], "no one entered while another held the lock");
});

t.test("a held resource refuses another caller once its attempts run out", async (t) => {
  const few = connectRedlock(NODES, { retryCount: 2, retryDelayMs: 10, retryJitterMs: 0 });
  t.teardown(few.close);
  const key = `platform-test:${randomUUID()}`;
  await withRedlock(few.redlock, [key], 5_000, async () => {
    await t.rejects(
      withRedlock(few.redlock, [key], 5_000, async () => "never"),
      LockNotAcquiredError,
    );
  });
  t.equal(await withRedlock(few.redlock, [key], 1_000, async () => "after release"), "after release", "free again afterwards");
});

t.test("servers that are down refuse at once: the caller hears 'not acquired' in about retryCount x retryDelay", async (t) => {
  // Ports nobody listens on: bound, then closed again.
  const closedPorts = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise<number>((resolve) => {
          const server = createServer().listen(0, "127.0.0.1", () => {
            const { port } = server.address() as AddressInfo;
            server.close(() => resolve(port));
          });
        }),
    ),
  );
  const down = connectRedlock(closedPorts.map((port) => ({ host: "127.0.0.1", port })));
  t.teardown(down.close);
  const started = Date.now();
  await t.rejects(
    withRedlock(down.redlock, [`platform-test:${randomUUID()}`], 1_000, async () => "never"),
    LockNotAcquiredError,
  );
  // 100 attempts 10-20 ms apart; a command waiting in an offline queue for its 200 ms timeout would make it 20 s.
  t.ok(Date.now() - started < 5_000, `refused after ${Date.now() - started} ms`);
});

t.test("backoff is full jitter below its exponential bound and its cap", async (t) => {
  for (let attempt = 1; attempt <= 12; attempt++) {
    const bound = Math.min(50, 2 * 2 ** (attempt - 1));
    const samples = Array.from({ length: 50 }, () => jitteredBackoffMs(attempt, 2, 50));
    t.ok(
      samples.every((ms) => ms >= 0 && ms <= bound),
      `attempt ${attempt}: within [0, ${bound}] ms`,
    );
  }
});
