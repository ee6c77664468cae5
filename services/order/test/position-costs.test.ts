// Pure rules of the read side: the moving-average cost basis and realised
// P&L (ADR 0024). No I/O.
import t from "tap";
import type { Side } from "../src/domain/order.js";
import { type CostFill, positionCosts } from "../src/domain/position-costs.js";

let n = 0;
const fill = (side: Side, quantity: bigint, priceKrw: bigint, feeKrw: bigint, taxKrw = 0n, symbol = "005930"): CostFill => ({
  executionId: `x-${++n}`,
  orderId: `o-${n}`,
  symbol,
  side,
  quantity,
  priceKrw,
  feeKrw,
  taxKrw,
  executedAt: new Date(Date.UTC(2026, 11, 1, 0, 0, n)),
});

t.test("moving average: buys add their cost, a sell takes its pro-rata share away", async (t) => {
  const { positions, realized } = positionCosts([
    fill("buy", 10n, 70_000n, 105n), // basis 700,105
    fill("buy", 5n, 73_000n, 55n), // basis 1,065,160 for 15
    fill("sell", 6n, 75_000n, 68n, 810n), // takes 1,065,160 x 6 / 15 = 426,064
    fill("buy", 2n, 60_000n, 18n, 0n, "000660"),
  ]);
  const samsung = positions.find((p) => p.symbol === "005930")!;
  t.same([samsung.quantity, samsung.costBasisKrw], [9n, 1_065_160n - 426_064n], "9 shares carry the rest of the basis");
  t.equal(realized.length, 1);
  t.equal(realized[0]!.costBasisKrw, 426_064n);
  t.equal(realized[0]!.realizedPnlKrw, 450_000n - 68n - 810n - 426_064n, "proceeds less commission, tax and basis");
  t.equal(samsung.realizedPnlKrw, realized[0]!.realizedPnlKrw);
  t.same(
    positions.find((p) => p.symbol === "000660"),
    { symbol: "000660", quantity: 2n, costBasisKrw: 120_018n, realizedPnlKrw: 0n },
  );
});

t.test("rounding never leaves cost behind: the last share takes all of it, and the figures add up to the cash", async (t) => {
  const fills = [
    fill("buy", 3n, 70_100n, 32n),
    fill("sell", 1n, 70_000n, 11n, 126n),
    fill("sell", 1n, 70_000n, 11n, 126n),
    fill("sell", 1n, 69_900n, 11n, 126n),
  ];
  const { positions, realized } = positionCosts(fills);
  t.same([positions[0]!.quantity, positions[0]!.costBasisKrw], [0n, 0n], "sold out: nothing left in the basis");
  const cash = fills.reduce((s, f) => s + (f.side === "buy" ? -1n : 1n) * f.priceKrw * f.quantity - f.feeKrw - f.taxKrw, 0n);
  t.equal(
    realized.reduce((s, r) => s + r.realizedPnlKrw, 0n),
    cash,
    "realised P&L of a closed position is exactly what it did to the cash",
  );
  t.same(
    realized.map((r) => r.costBasisKrw),
    // 210,332 / 3 floored, then 140,222 / 2, then the rest.
    [70_110n, 70_111n, 70_111n],
    "floor of the share, and the remainder on the last",
  );
});

t.test("shares sold beyond what the fills bought carry no cost", async (t) => {
  const { positions, realized } = positionCosts([fill("sell", 2n, 10_000n, 3n, 36n)]);
  t.equal(realized[0]!.costBasisKrw, 0n);
  t.equal(positions[0]!.quantity, -2n, "the fills' quantity, which the gateway compares with the ledger's");
});
