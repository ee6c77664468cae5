// Pure order rules: the transition table, KRX price checks, holds, fees and
// settlement legs. No I/O; the store and the flow are tested against the real
// PostgreSQL in store.test.ts.
import t from "tap";
import {
  amendmentInput,
  amendmentTopUpMinor,
  applyFill,
  chargesOfFill,
  checkOrderInput,
  type FeeSchedule,
  type Fill,
  feeKrw,
  holdAmountMinor,
  holdUsedMinor,
  isWorkingState,
  type Order,
  type OrderInput,
  transition,
} from "../src/domain/order.js";
import { type FillCharges, ledgerWorkOf, planFill, planSettlement } from "../src/domain/settlement.js";
import {
  canTransition,
  FILLS_FINISHED_STATES,
  isTerminal,
  ORDER_STATES,
  reportedState,
  TERMINAL_STATES,
} from "../src/domain/state-machine.js";

const FEES: FeeSchedule = { commissionPpm: 150n, sellTaxPpm: 1_800n }; // 0.015 %, 0.18 %
const ACCOUNTS = {
  userCashAccountId: "uc",
  userSharesAccountId: "us",
  clearingCashAccountId: "cc",
  clearingSharesAccountId: "cs",
  feesAccountId: "f",
};
const SAMSUNG = { symbol: "005930", referencePriceKrw: 70_000n };
const NOW = new Date("2026-11-25T00:00:00Z");
const ONE_SHARE_LIMIT_BUY = {
  symbol: "005930",
  side: "buy",
  type: "limit",
  timeInForce: "day",
  quantity: 1n,
  limitPriceKrw: 70_000n,
  stopPriceKrw: 0n,
} as const;

function order(overrides: Partial<Order> = {}): Order {
  return {
    orderId: "o-1",
    userId: "u-1",
    symbol: "005930",
    side: "buy",
    type: "limit",
    timeInForce: "day",
    quantity: 10n,
    limitPriceKrw: 70_000n,
    stopPriceKrw: 0n,
    amendsOrderId: "",
    amendsFilledQuantity: 0n,
    filledQuantity: 0n,
    filledNotionalKrw: 0n,
    feesKrw: 0n,
    state: "accepted",
    rejectReason: "",
    holdId: "h-1",
    holdAmountMinor: 700_105n,
    holdShared: false,
    holdReleased: false,
    version: 1n,
    createdAt: NOW,
    updatedAt: NOW,
    ...overrides,
  };
}

t.test("the lifecycle follows the table and nothing else", async (t) => {
  for (const [from, to] of [
    ["received", "sent"],
    ["sent", "unknown"],
    ["unknown", "filled"],
    ["unknown", "rejected"],
    ["accepted", "partially_filled"],
    ["partially_filled", "filled"],
    ["cancel_requested", "filled"],
    ["filled", "settled"],
  ] as const) {
    t.ok(canTransition(from, to), `${from} -> ${to}`);
  }
  for (const [from, to] of [
    ["received", "filled"],
    ["filled", "cancelled"],
    ["settled", "filled"],
    ["rejected", "sent"],
    ["cancelled", "partially_filled"],
  ] as const) {
    t.notOk(canTransition(from, to), `${from} -> ${to} is refused`);
  }
  t.same([...TERMINAL_STATES].sort(), ["cancelled", "expired", "rejected", "settled"]);
  t.ok(isTerminal("settled"));
  t.notOk(isTerminal("filled"), "a filled order still has to settle");
  t.notOk(FILLS_FINISHED_STATES.includes("unknown"), "an UNKNOWN order may still be filled at the exchange: its hold stays");
  t.notOk(FILLS_FINISHED_STATES.includes("received"));
  t.ok(FILLS_FINISHED_STATES.includes("filled"), "a filled order's leftover hold is released");
  t.ok(FILLS_FINISHED_STATES.includes("settled"), "a settled amendment no longer holds up its chain's hold");
  const refused = transition(order({ state: "settled" }), "filled", NOW);
  t.same(refused, { kind: "illegal", from: "settled", to: "filled" });
  const moved = transition(order(), "cancel_requested", NOW);
  t.equal(moved.kind === "ok" && moved.order.version, 2n, "every transition bumps the version");
});

t.test("the exchange's word moves an order only forward, and only where the table allows", async (t) => {
  t.equal(reportedState("sent", "accepted"), "accepted");
  t.equal(reportedState("unknown", "rejected"), "rejected");
  t.equal(reportedState("partially_filled", "accepted"), undefined, "an older word changes nothing");
  t.equal(reportedState("filled", "cancelled"), undefined, "a fill won the race with the cancel");
  t.equal(reportedState("cancel_requested", "cancelled"), "cancelled");
  t.equal(reportedState("cancel_requested", "rejected"), "cancelled", "nothing working at the exchange: the cancel is what happened");
  t.equal(reportedState("accepted", "filled"), undefined, "fills move the state, not the status");
  t.equal(reportedState("sent", "not_found"), undefined);
  t.equal(reportedState("sent", "waiting"), "waiting", "a stop the venue holds");
  t.equal(reportedState("unknown", "waiting"), "waiting", "the reconciler finds a stop held");
  t.equal(reportedState("waiting", "accepted"), "accepted", "a triggered stop-limit resting on the book");
  t.equal(reportedState("accepted", "waiting"), undefined, "a triggered stop never waits again");
  t.equal(reportedState("waiting", "expired"), "expired", "a DAY stop not triggered by the close");
  for (const from of ORDER_STATES.filter(isTerminal)) {
    for (const word of ["not_found", "accepted", "waiting", "partially_filled", "filled", "cancelled", "rejected", "expired"] as const) {
      t.equal(reportedState(from, word), undefined, `${from} is final whatever the exchange says (${word})`);
    }
  }
});

t.test("order input is checked against KRX ticks and daily limits, naming the field", async (t) => {
  const base = ONE_SHARE_LIMIT_BUY;
  t.equal(checkOrderInput(base, SAMSUNG), undefined);
  t.match(checkOrderInput(base, undefined), { field: "symbol", reason: /not listed/ });
  t.match(checkOrderInput({ ...base, quantity: 0n }, SAMSUNG), { field: "quantity" });
  t.match(checkOrderInput({ ...base, limitPriceKrw: 70_050n }, SAMSUNG), { field: "limit_price_krw", reason: /tick 100 won/ });
  t.match(checkOrderInput({ ...base, limitPriceKrw: 91_100n }, SAMSUNG), {
    field: "limit_price_krw",
    reason: /outside today's limits 49000\.\.91000/,
  });
  t.match(checkOrderInput({ ...base, type: "market", limitPriceKrw: 70_000n }, SAMSUNG), { field: "limit_price_krw", reason: /market/ });
  t.equal(checkOrderInput({ ...base, type: "market", limitPriceKrw: 0n }, SAMSUNG), undefined);
});

t.test("holds cover the worst fill and its fee", async (t) => {
  const limitBuy = { ...ONE_SHARE_LIMIT_BUY, quantity: 10n } as const;
  t.equal(holdAmountMinor(limitBuy, SAMSUNG, FEES), 700_000n + 105n, "notional + 0.015 % commission");
  t.equal(
    holdAmountMinor({ ...limitBuy, type: "market", limitPriceKrw: 0n }, SAMSUNG, FEES),
    910_000n + 137n,
    "a market buy at the upper limit (91,000)",
  );
  t.equal(holdAmountMinor({ ...limitBuy, side: "sell" }, SAMSUNG, FEES), 10n, "a sell holds the shares");
  t.equal(feeKrw(FEES, "sell", 700_000n), 1_365n, "sells pay commission and tax, rounded up");
});

t.test("every KRX type and time in force: the venue's combinations, each price named by its field", async (t) => {
  const base = ONE_SHARE_LIMIT_BUY;
  const venuePriced = { ...base, limitPriceKrw: 0n };
  for (const type of ["market", "best", "top"] as const) t.equal(checkOrderInput({ ...venuePriced, type }, SAMSUNG), undefined, type);
  t.equal(checkOrderInput({ ...base, type: "conditional" }, SAMSUNG), undefined, "conditional limit");
  t.equal(checkOrderInput({ ...base, timeInForce: "fok" }, SAMSUNG), undefined, "limit FOK");
  t.equal(checkOrderInput({ ...base, timeInForce: "gtc" }, SAMSUNG), undefined, "limit GTC");
  t.equal(checkOrderInput({ ...venuePriced, type: "stop", stopPriceKrw: 72_000n }, SAMSUNG), undefined, "stop");
  t.equal(
    checkOrderInput({ ...base, type: "stop_limit", stopPriceKrw: 72_000n, timeInForce: "gtc" }, SAMSUNG),
    undefined,
    "stop-limit GTC",
  );
  t.equal(checkOrderInput({ ...venuePriced, type: "stop", side: "sell", stopPriceKrw: 68_000n, timeInForce: "gtc" }, SAMSUNG), undefined);
  t.match(checkOrderInput({ ...venuePriced, type: "stop" }, SAMSUNG), { field: "stop_price_krw", reason: /needs one/ });
  t.match(checkOrderInput({ ...base, stopPriceKrw: 72_000n }, SAMSUNG), { field: "stop_price_krw", reason: /must be 0 for a limit/ });
  t.match(checkOrderInput({ ...venuePriced, type: "stop", stopPriceKrw: 72_050n }, SAMSUNG), { field: "stop_price_krw", reason: /tick/ });
  t.match(checkOrderInput({ ...venuePriced, type: "stop", stopPriceKrw: 95_000n }, SAMSUNG), {
    field: "stop_price_krw",
    reason: /outside/,
  });
  t.match(checkOrderInput({ ...venuePriced, type: "market", timeInForce: "gtc" }, SAMSUNG), {
    field: "time_in_force",
    reason: /DAY, IOC, FOK/,
  });
  t.match(checkOrderInput({ ...venuePriced, type: "top", timeInForce: "ioc" }, SAMSUNG), { field: "time_in_force" });
  t.match(checkOrderInput({ ...base, type: "conditional", timeInForce: "gtc" }, SAMSUNG), { field: "time_in_force" });
  t.match(checkOrderInput({ ...venuePriced, type: "stop", timeInForce: "ioc", stopPriceKrw: 72_000n }, SAMSUNG), {
    field: "time_in_force",
  });
  t.match(checkOrderInput({ ...venuePriced, type: "stop", timeInForce: "gtc", stopPriceKrw: 72_000n }, SAMSUNG), {
    field: "time_in_force",
    reason: /tomorrow's upper limit/,
  });
  t.match(checkOrderInput({ ...base, type: "best" }, SAMSUNG), { field: "limit_price_krw", reason: /must be 0 for a best/ });
  t.match(checkOrderInput({ ...venuePriced, type: "stop_limit", stopPriceKrw: 72_000n }, SAMSUNG), { field: "limit_price_krw" });
});

t.test("a buy holds its worst fill: the limit, or the upper limit for what the venue prices or turns into a market order", async (t) => {
  const buy = { ...ONE_SHARE_LIMIT_BUY, quantity: 10n } as const;
  const atUpperLimit = 910_000n + 137n;
  for (const type of ["best", "top", "stop"] as const) {
    t.equal(holdAmountMinor({ ...buy, type, limitPriceKrw: 0n }, SAMSUNG, FEES), atUpperLimit, `${type} at the upper limit`);
  }
  t.equal(
    holdAmountMinor({ ...buy, type: "conditional" }, SAMSUNG, FEES),
    atUpperLimit,
    "conditional: a market order in the closing auction",
  );
  t.equal(holdAmountMinor({ ...buy, type: "stop_limit", stopPriceKrw: 72_000n }, SAMSUNG, FEES), 700_105n, "stop-limit at its limit");
  t.equal(holdAmountMinor({ ...buy, type: "stop", side: "sell", limitPriceKrw: 0n }, SAMSUNG, FEES), 10n, "a stop sell holds shares");
});

t.test("an amendment keeps the original's terms, changes prices and quantity, and must change something", async (t) => {
  const original = order({ quantity: 10n, filledQuantity: 4n });
  const same = { quantity: 6n, limitPriceKrw: 70_000n, stopPriceKrw: 0n };
  t.match(amendmentInput(original, same, SAMSUNG), { problem: { field: "quantity", reason: /changes neither/ } });
  t.same(amendmentInput(original, { ...same, quantity: 8n }, SAMSUNG), {
    input: { symbol: "005930", side: "buy", type: "limit", timeInForce: "day", quantity: 8n, limitPriceKrw: 70_000n, stopPriceKrw: 0n },
  });
  t.match(amendmentInput(original, { ...same, limitPriceKrw: 0n }, SAMSUNG), { problem: { field: "limit_price_krw" } });
  t.match(amendmentInput(order({ type: "market", limitPriceKrw: 0n }), { ...same, limitPriceKrw: 71_000n }, SAMSUNG), {
    problem: { field: "limit_price_krw", reason: /must be 0 for a market/ },
  });
  t.ok(isWorkingState("waiting") && isWorkingState("partially_filled") && !isWorkingState("cancel_requested"));
});

t.test("fills accumulate; fees of the parts add up to the fee of the whole", async (t) => {
  let current = order();
  let feesSum = 0n;
  for (const [i, quantity] of [3n, 3n, 4n].entries()) {
    const r = applyFill(current, { executionId: `x-${i}`, quantity, priceKrw: 69_900n }, FEES, NOW);
    if (r.kind !== "ok") throw new Error("fill refused");
    feesSum += r.fillFeeKrw;
    current = r.order;
  }
  t.equal(current.state, "filled");
  t.equal(current.filledQuantity, 10n);
  t.equal(feesSum, feeKrw(FEES, "buy", 699_000n));
  t.ok(feesSum <= 105n, "never more than the hold reserved for fees");
  t.throws(() => applyFill(current, { executionId: "x-9", quantity: 1n, priceKrw: 69_900n }, FEES, NOW), /overfills/);
  t.same(applyFill(order({ state: "cancelled" }), { executionId: "x-1", quantity: 1n, priceKrw: 1n }, FEES, NOW), {
    kind: "illegal",
    from: "cancelled",
    to: "partially_filled",
  });
});

t.test("each fill's commission and tax: never negative, and they add up to its fee", async (t) => {
  // Notionals where one rounding of commission + tax together would leave a fill a negative commission.
  for (const prices of [
    [69_900n, 70_000n, 70_100n],
    [982_191n, 1_167n, 7n],
    [3n, 1n, 1_000_003n],
  ]) {
    let current = order({ side: "sell" });
    let taxSum = 0n;
    for (const [i, priceKrw] of prices.entries()) {
      const r = applyFill(current, { executionId: `x-${i}`, quantity: i === 2 ? 8n : 1n, priceKrw }, FEES, NOW);
      if (r.kind !== "ok") throw new Error("fill refused");
      const charges = chargesOfFill(FEES, "sell", current.filledNotionalKrw, r.order.filledNotionalKrw);
      t.ok(charges.feeKrw >= 0n && charges.taxKrw >= 0n, `fill ${i} of ${prices.join(",")}: nothing negative`);
      t.equal(charges.feeKrw + charges.taxKrw, r.fillFeeKrw, "commission + tax is the fill's fee");
      taxSum += charges.taxKrw;
      current = r.order;
    }
    t.equal(taxSum, (current.filledNotionalKrw * FEES.sellTaxPpm + 999_999n) / 1_000_000n, "the fills' taxes are the tax of the whole");
  }
  t.same(chargesOfFill(FEES, "buy", 0n, 700_000n), { feeKrw: 105n, taxKrw: 0n }, "buys pay no tax");
});

t.test("a settlement balances per asset and debits exactly the hold's part", async (t) => {
  const cashOf = new Set(["uc", "cc", "f"]);
  const fill = { executionId: "x-1", quantity: 3n, priceKrw: 70_000n };
  for (const side of ["buy", "sell"] as const) {
    const fee = feeKrw(FEES, side, 210_000n);
    const plan = planSettlement(side, fill, fee, ACCOUNTS);
    const heldAccount = side === "buy" ? "uc" : "us";
    const legs = [...plan.legs, { accountId: heldAccount, amountMinor: -plan.holdDebitMinor }];
    const cash = legs.filter((l) => cashOf.has(l.accountId)).reduce((s, l) => s + l.amountMinor, 0n);
    const shares = legs.filter((l) => !cashOf.has(l.accountId)).reduce((s, l) => s + l.amountMinor, 0n);
    t.equal(cash, 0n, `${side}: cash legs sum to zero`);
    t.equal(shares, 0n, `${side}: share legs sum to zero`);
    t.ok(
      plan.legs.every((l) => l.amountMinor !== 0n),
      `${side}: no zero postings`,
    );
  }
  const feeFree = planSettlement("sell", fill, 0n, ACCOUNTS);
  t.notOk(
    feeFree.legs.some((l) => l.accountId === "f"),
    "a fee-free fill has no fee leg",
  );
  t.throws(() => planSettlement("sell", { ...fill, quantity: 1n, priceKrw: 1n }, 5n, ACCOUNTS), /exceeds proceeds/);
});

/** One order's hold: its ledger work with these unsettled fills. */
const workOf = (o: Order, fills: readonly (Fill & FillCharges)[] = [], accounts = fills.length === 0 ? undefined : ACCOUNTS) =>
  ledgerWorkOf([o], new Map([[o.orderId, fills]]), accounts);

t.test("an order's ledger work: its unsettled fills, then the rest of its hold once no fill can come", async (t) => {
  const fill = { executionId: "x-1", quantity: 3n, priceKrw: 69_900n, feeKrw: 32n };
  t.equal(workOf(order()), undefined, "resting, nothing filled: nothing to do");
  const resting = workOf(order({ state: "partially_filled" }), [fill]);
  t.same(
    [resting?.fills.map((f) => f.executionId), resting?.finishesHold, resting?.releaseMinor],
    [["x-1"], false, 0n],
    "partially filled, still working: the fill, no release",
  );
  // Filled below its limit: 10 x 69,900 + fees leaves 1,000 won and the fee difference on the hold.
  const filled = order({ state: "filled", filledQuantity: 10n, filledNotionalKrw: 699_000n, feesKrw: 105n });
  const done = workOf(filled, [fill]);
  t.same([done?.finishesHold, done?.releaseMinor], [true, 700_105n - 699_105n], "filled: the fill, then the release of what is left");
  t.same(
    [workOf(order({ state: "filled", filledQuantity: 10n, filledNotionalKrw: 700_000n, feesKrw: 105n }))?.releaseMinor],
    [0n],
    "a hold used up: nothing to release, but the hold is done with",
  );
  t.same(
    [workOf(order({ state: "cancelled" }))?.releaseMinor],
    [700_105n],
    "cancelled unfilled: the whole hold goes back, no accounts needed",
  );
  t.equal(workOf(order({ state: "cancelled", holdReleased: true })), undefined, "released already: nothing");
  t.equal(workOf(order({ state: "rejected", holdId: "" })), undefined, "never held: nothing");
  t.throws(
    () => workOf(order({ state: "filled", filledNotionalKrw: 800_000n })),
    /used 800000 of 700105/,
    "a hold overdrawn by the order's own figures is a bug, not a release",
  );
});

t.test("a hold shared along an amendment chain is released once, when every order on it is done", async (t) => {
  // The original bought 4 of 10 at 70,000, then was amended to 6 at 71,000 (top-up 6,001 won, see below).
  const original = order({
    state: "cancelled",
    holdShared: true,
    filledQuantity: 4n,
    filledNotionalKrw: 280_000n,
    feesKrw: 42n,
  });
  const replacement = order({
    orderId: "o-2",
    amendsOrderId: "o-1",
    amendsFilledQuantity: 4n,
    quantity: 6n,
    limitPriceKrw: 71_000n,
    holdShared: true,
    holdAmountMinor: 6_001n,
    state: "partially_filled",
    filledQuantity: 2n,
    filledNotionalKrw: 142_000n,
    feesKrw: 22n,
  });
  const fill = { executionId: "x-2", quantity: 2n, priceKrw: 71_000n, feeKrw: 22n };
  // The replacement's worst case: 6 at 71,000 and its commission, 426,064 won.
  const mayUse = (o: Order) => 426_064n - holdUsedMinor(o);
  const swapped = ledgerWorkOf([original, replacement], new Map([["o-2", [fill]]]), ACCOUNTS, mayUse);
  t.same(
    [swapped?.fills.map((f) => [f.order.orderId, f.executionId]), swapped?.finishesHold, swapped?.givesBack.map((o) => o.orderId)],
    [[["o-2", "x-2"]], false, ["o-1"]],
    "the replacement's fill settles against the shared hold; the swapped original gives its part back",
  );
  t.equal(swapped?.keepMinor, 426_064n - 142_022n, "the hold keeps what the working replacement may still use");
  const givenBack = { ...original, holdReleased: true };
  t.equal(ledgerWorkOf([givenBack, replacement], new Map(), undefined, mayUse), undefined, "given back already, nothing settles: nothing");
  const finished = { ...replacement, state: "filled" as const, filledQuantity: 6n, filledNotionalKrw: 426_000n, feesKrw: 64n };
  const done = ledgerWorkOf([givenBack, finished], new Map(), undefined, mayUse);
  t.same(
    [done?.finishesHold, done?.keepMinor, done?.givesBack.map((o) => o.orderId), done?.releaseMinor],
    [true, 0n, ["o-2"], 706_106n - 706_106n],
    "the last order done: the hold is cut to nothing (held 700,105 + 6,001, used 280,042 + 426,064)",
  );
  // The replacement filled and settled (its part given back) before the swapped original's end was recorded.
  const settled = { ...finished, state: "settled" as const, holdReleased: true };
  const late = ledgerWorkOf([original, settled], new Map(), undefined, mayUse);
  t.same(
    [late?.finishesHold, late?.keepMinor, late?.givesBack.map((o) => o.orderId)],
    [true, 0n, ["o-1"]],
    "the original's end then finishes the hold: a SETTLED order may use nothing more",
  );
  const unknown = ledgerWorkOf([original, replacement], new Map([["o-2", [fill]]]), ACCOUNTS, () => undefined);
  t.same(
    [unknown?.fills.length, unknown?.givesBack, unknown?.keepMinor],
    [1, [], undefined],
    "what the working replacement may use cannot be known now: its fill settles, nothing is cut",
  );
  const bothWorking = ledgerWorkOf([{ ...original, state: "accepted" }, replacement], new Map([["o-2", [fill]]]), ACCOUNTS, mayUse);
  t.same(bothWorking?.givesBack, [], "the venue has not swapped them yet (the original works by our record): nothing given back");
  t.equal(workOf(order({ state: "cancelled" }))?.keepMinor, undefined, "an order's own hold is released whole, as before");
  t.throws(() => ledgerWorkOf([original, { ...replacement, holdId: "h-9" }], new Map(), undefined), /do not share one hold/);
});

t.test("an amendment adds to the shared hold only its worst case beyond the original's part", async (t) => {
  const original = order(); // buy 10 at 70,000, nothing filled: holds 700,105
  const to = (change: Partial<OrderInput>): OrderInput => ({ ...ONE_SHARE_LIMIT_BUY, ...change });
  const topUp = (o: Order, change: Partial<OrderInput>) => amendmentTopUpMinor(o, to(change), SAMSUNG, FEES);
  t.equal(topUp(original, { quantity: 10n, limitPriceKrw: 69_900n }), 0n, "a lower price: nothing (the original's part covers it)");
  t.equal(topUp(original, { quantity: 6n, limitPriceKrw: 70_000n }), 0n, "fewer shares at the same price: nothing");
  // Q = 15: at k = 0 the replacement alone costs 1,050,000 + 158; at k = 10 the original's 700,105
  // and 5 more at 350,053; one won for the rounding in between.
  t.equal(topUp(original, { quantity: 15n, limitPriceKrw: 70_000n }), 1_050_159n - 700_105n, "more shares: the extra ones and a won");
  t.equal(topUp(original, { quantity: 10n, limitPriceKrw: 71_000n }), 710_107n - 700_105n, "a higher price: the difference, fees included");
  const partly = order({ state: "partially_filled", filledQuantity: 4n, filledNotionalKrw: 280_000n, feesKrw: 42n });
  // k = 0: 4 at 70,000 (280,042) and 6 at 71,000 (426,064) = 706,106 against the original's 700,105.
  t.equal(topUp(partly, { quantity: 6n, limitPriceKrw: 71_000n }), 6_001n, "partly filled, re-priced: only what is left moves");
  const sell = order({ side: "sell", holdAmountMinor: 10n });
  t.same(
    [topUp(sell, { side: "sell", quantity: 15n }), topUp(sell, { side: "sell", quantity: 4n, limitPriceKrw: 69_000n })],
    [5n, 0n],
    "a sell: the extra shares only",
  );
  for (let k = 0n; k <= 10n; k++) {
    // Brute force: every k the venue may find, against the hold both parts give.
    for (const [q, price] of [
      [15n, 70_000n],
      [7n, 70_010n],
      [12n, 69_990n],
      [3n, 71_000n],
    ] as const) {
      const change = to({ quantity: q, limitPriceKrw: price });
      const used = holdAmountMinor({ ...ONE_SHARE_LIMIT_BUY, quantity: k }, SAMSUNG, FEES);
      const rest = q - k > 0n ? holdAmountMinor({ ...change, quantity: q - k }, SAMSUNG, FEES) : 0n;
      t.ok(used + rest <= 700_105n + amendmentTopUpMinor(original, change, SAMSUNG, FEES), `k = ${k}, ${q} at ${price}: covered`);
    }
  }
  t.throws(() => topUp(order({ state: "filled" }), { quantity: 5n }), /not a held working order/);
});

const CASH_ACCOUNTS = new Set(["uc", "cc", "f"]);

t.test("a fill's commission and tax are postings of their own; a fill from before the split settles as it did", async (t) => {
  const x = { executionId: "x-1", quantity: 3n, priceKrw: 70_000n };
  const sell = planFill("sell", x, { feeKrw: 32n, taxKrw: 378n }, ACCOUNTS);
  t.same(sell.trade.legs.find((l) => l.accountId === "uc")?.amountMinor, 210_000n, "the trade credits the whole proceeds");
  t.notOk(
    sell.trade.legs.some((l) => l.accountId === "f"),
    "the trade has no fee leg",
  );
  t.same(
    sell.charges.map((c) => [c.charge, c.holdDebitMinor, c.legs]),
    [
      [
        "fee",
        0n,
        [
          { accountId: "uc", amountMinor: -32n },
          { accountId: "f", amountMinor: 32n },
        ],
      ],
      [
        "tax",
        0n,
        [
          { accountId: "uc", amountMinor: -378n },
          { accountId: "f", amountMinor: 378n },
        ],
      ],
    ],
    "commission and tax each out of the proceeds",
  );
  const buy = planFill("buy", x, { feeKrw: 32n, taxKrw: 0n }, ACCOUNTS);
  t.equal(buy.trade.holdDebitMinor, 210_000n, "the trade takes the notional from the hold");
  t.same(
    buy.charges.map((c) => [c.charge, c.holdDebitMinor, c.legs]),
    [["fee", 32n, [{ accountId: "f", amountMinor: 32n }]]],
    "the commission from the hold; no zero tax posting",
  );
  for (const plan of [sell, buy]) {
    for (const entry of [plan.trade, ...plan.charges]) {
      const held =
        plan === sell && entry === plan.trade
          ? { accountId: "us", amountMinor: -entry.holdDebitMinor }
          : { accountId: "uc", amountMinor: -entry.holdDebitMinor };
      const legs = [...entry.legs, held].filter((l) => l.amountMinor !== 0n);
      t.equal(
        legs.filter((l) => CASH_ACCOUNTS.has(l.accountId)).reduce((s, l) => s + l.amountMinor, 0n),
        0n,
        "each entry's cash sums to zero",
      );
      t.equal(
        legs.filter((l) => !CASH_ACCOUNTS.has(l.accountId)).reduce((s, l) => s + l.amountMinor, 0n),
        0n,
        "and its shares",
      );
    }
  }
  const legacy = planFill("sell", x, { feeKrw: 410n }, ACCOUNTS);
  t.same(legacy.charges, [], "before the split: no separate postings");
  t.same(legacy.trade.legs.find((l) => l.accountId === "f")?.amountMinor, 410n, "the combined fee stays a leg of the trade");
  t.throws(() => planFill("buy", x, { feeKrw: 32n, taxKrw: 1n }, ACCOUNTS), /a buy pays no tax/);
  t.throws(() => planFill("sell", { ...x, quantity: 1n, priceKrw: 1n }, { feeKrw: 1n, taxKrw: 1n }, ACCOUNTS), /exceed proceeds/);
});
