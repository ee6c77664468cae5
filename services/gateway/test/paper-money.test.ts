// The paper-money policy's pure rules (domain/paper-money.ts).
import t from "tap";
import { checkDeposit, checkStartingCash, resetLegs } from "../src/domain/paper-money.js";

t.test("reset legs take cash to the starting amount and shares to zero, each asset summing to zero", async (t) => {
  const external = (asset: string) => `ext-${asset}`;
  const legs = resetLegs(
    [
      { accountId: "cash", asset: "KRW", totalMinor: 1_234_567n },
      { accountId: "sam", asset: "005930", totalMinor: 12n },
      { accountId: "sk", asset: "000660", totalMinor: 0n },
    ],
    5_000_000n,
    external,
  );
  t.same(
    legs.map((l) => [l.accountId, l.asset, l.amountMinor]),
    [
      ["cash", "KRW", 3_765_433n],
      ["ext-KRW", "KRW", -3_765_433n],
      ["sam", "005930", -12n],
      ["ext-005930", "005930", 12n],
    ],
  );
  for (const asset of new Set(legs.map((l) => l.asset))) {
    t.equal(
      legs.filter((l) => l.asset === asset).reduce((sum, l) => sum + l.amountMinor, 0n),
      0n,
      `${asset} sums to zero`,
    );
  }
  t.same(resetLegs([{ accountId: "cash", asset: "KRW", totalMinor: 5n }], 5n, external), [], "already there: nothing to post");
  t.same(
    resetLegs([{ accountId: "cash", asset: "KRW", totalMinor: 9n }], 5n, external).map((l) => l.amountMinor),
    [-4n, 4n],
    "more cash than the starting amount goes back too",
  );
});

t.test("starting cash and deposits stay within the cap, refusals naming the field", async (t) => {
  t.doesNotThrow(() => checkStartingCash(100n, 100n));
  t.throws(() => checkStartingCash(101n, 100n), { kind: "invalid_argument", message: /^starting_cash_krw: must be at most 100 KRW/ });
  t.throws(() => checkStartingCash(0n, 100n), { kind: "invalid_argument", message: /^starting_cash_krw: / });
  t.doesNotThrow(() => checkDeposit(60n, 40n, 100n));
  t.throws(() => checkDeposit(60n, 41n, 100n), { kind: "failed_precondition", message: /^amount_krw: the account holds 60 KRW/ });
});
