// planTopUpHold, the pure rule both write paths use, where the database
// cannot easily take it: a hold whose amount would pass a signed 64-bit
// integer once settled amounts have cycled through it.
import t from "tap";
import { INT64_MAX } from "../src/domain/amounts.js";
import { planTopUpHold } from "../src/domain/journal.js";
import type { Balance, Hold } from "../src/domain/model.js";

const balance: Balance = { accountId: "a", ownerId: "o", asset: "KRW", kind: "user", totalMinor: 100n, heldMinor: 10n, version: 7n };
const hold: Hold = {
  holdId: "h",
  accountId: "a",
  asset: "KRW",
  amountMinor: 10n,
  settledMinor: 0n,
  releasedMinor: 0n,
  reference: "order-1",
  createdAt: new Date(0),
};

t.test("grows the hold and moves the amount from available to held", async (t) => {
  t.same(planTopUpHold(balance, hold, 5n), {
    kind: "ok",
    value: { balance: { ...balance, heldMinor: 15n, version: 8n }, hold: { ...hold, amountMinor: 15n } },
  });
});

t.test("refuses a hold of another account, a closed hold, an overflow", async (t) => {
  t.match(planTopUpHold(balance, { ...hold, accountId: "b" }, 5n), { kind: "invalid", field: "hold_id" });
  t.same(planTopUpHold(balance, { ...hold, settledMinor: 4n, releasedMinor: 6n }, 5n), { kind: "hold_closed", holdId: "h" });
  t.match(planTopUpHold(balance, hold, 91n), { kind: "insufficient_funds", shortfallMinor: 1n });
  const worn = { ...hold, amountMinor: INT64_MAX, settledMinor: INT64_MAX - 10n };
  t.match(planTopUpHold(balance, worn, 1n), { kind: "invalid", field: "amount_minor", reason: /overflow/ });
});
