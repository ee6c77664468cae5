// The bank workload (Jepsen's bank test as the model) and its checks.
// Concurrent orders, amendments (정정), cancels, deposits and transfers from many users, each
// operation with an id so that it can be sent again; an operation whose
// outcome is unknown (no answer) is replayed with the same id once the
// faults are lifted, so the books the checks compare against are exact.
// Half the users are the console's: signed up at the gateway, they order,
// cancel and deposit through it with their token; the others call the
// order service and the ledger directly. Transfers go to the ledger (a
// back-office operation: the gateway has none).
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import * as gateway from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import { OrderType, Side, TimeInForce } from "@kuku/contracts/kuku/trading/v1/trading_pb";
import { EXCHANGE_EXECUTIONS } from "@kuku/contracts/topics";
import { forEachConcurrently, roundToTick } from "@kuku/platform";
import { type MarketView, marketProblems } from "./market-oracle.js";
import type { DrillStack } from "./stack.js";
import { ExchangeTape } from "./tape.js";

// Answers that settle an operation's outcome; anything else (no answer, UNAVAILABLE, INTERNAL) leaves it in doubt.
const DEFINITE = new Set([
  Code.InvalidArgument,
  Code.FailedPrecondition,
  Code.NotFound,
  Code.AlreadyExists,
  Code.PermissionDenied,
  Code.OutOfRange,
]);
const IN_FLIGHT = new Set([api.OrderState.RECEIVED, api.OrderState.SENT, api.OrderState.UNKNOWN, api.OrderState.CANCEL_REQUESTED]);
const TERMINAL = new Set([api.OrderState.SETTLED, api.OrderState.CANCELLED, api.OrderState.REJECTED, api.OrderState.EXPIRED]);
const INITIAL_KRW = 50_000_000n;
const PASSWORD = "drill password, long enough";

type Op =
  | { kind: "place"; req: api.PlaceOrderRequest }
  | { kind: "amend"; req: api.AmendOrderRequest }
  | { kind: "deposit"; userId: string; requestId: string; amount: bigint }
  | { kind: "transfer"; req: ledger.TransferRequest; from: string; to: string; amount: bigint };

/** A user of the console: a gateway account, its token renewed by logging in again when it is refused. */
class ConsoleUser {
  #accessToken: string;
  readonly trading: Client<typeof gateway.TradingService>;

  constructor(
    private readonly stack: DrillStack,
    readonly email: string,
    tokens: gateway.Tokens,
  ) {
    this.#accessToken = tokens.accessToken;
    this.trading = stack.gateway(gateway.TradingService, () => this.#accessToken);
  }

  /** `call` with the user's token; once more after logging in again if the token is refused (expired). */
  async call<T>(call: (trading: Client<typeof gateway.TradingService>) => Promise<T>): Promise<T> {
    try {
      return await call(this.trading);
    } catch (error) {
      if (ConnectError.from(error).code !== Code.Unauthenticated) throw error;
      const { tokens } = await this.stack.gateway(gateway.AuthService).logIn({ email: this.email, password: PASSWORD });
      this.#accessToken = tokens!.accessToken;
      return call(this.trading);
    }
  }
}

export interface WorkloadCounts {
  ops: number;
  /** Of ops, those sent through the gateway. */
  viaGateway: number;
  placed: number;
  amends: number;
  cancels: number;
  deposits: number;
  transfers: number;
  refused: number;
  inDoubt: number;
}

export interface Check {
  readonly name: string;
  readonly violations: number;
  readonly detail: string;
}

export class Bank {
  readonly users: string[] = [];
  readonly #cash = new Map<string, string>(); // user -> KRW account id
  readonly #console = new Map<string, ConsoleUser>(); // the users who go through the gateway
  readonly #deposited = new Map<string, bigint>();
  readonly #transferred = new Map<string, bigint>(); // net in (+) / out (-)
  readonly #orderIds: string[] = [];
  readonly #ownerOf = new Map<string, string>();
  readonly #limitIds: string[] = [];
  readonly #limits = new Map<string, Pick<api.PlaceOrderRequest, "symbol" | "side" | "type">>();
  readonly #prices = new Map<string, bigint>();
  #doubts: Op[] = [];
  symbols: string[] = [];

  constructor(
    private readonly stack: DrillStack,
    /** How long the market may take to have every trade at a check (a killed market replays its topics). */
    private readonly marketCatchUpMs = 60_000,
  ) {}

  /** `userCount` users with 50,000,000 won each; every second one signs up at the gateway and uses it. */
  async open(userCount: number, symbols: readonly string[]): Promise<void> {
    this.symbols = [...symbols];
    for (let i = 0; i < userCount; i++) {
      let userId: string;
      if (i % 2 === 1) {
        const email = `drill-${randomUUID().slice(0, 8)}@example.com`;
        const signedUp = await this.stack.gateway(gateway.AuthService).signUp({ email, password: PASSWORD, displayName: "drill" });
        userId = signedUp.userId;
        const user = new ConsoleUser(this.stack, email, signedUp.tokens!);
        this.#console.set(userId, user);
        await user.call((trading) => trading.depositCash({ requestId: "initial", amountKrw: INITIAL_KRW }));
        // Sign-up opened the cash account in the ledger (owner id = user id).
        const { balances } = await this.stack.ledger.getBalances({ ownerId: userId });
        this.#cash.set(userId, balances.find((b) => b.asset === "KRW")!.accountId);
      } else {
        userId = `drill-${randomUUID().slice(0, 8)}`;
        const { account } = await this.stack.ledger.openAccount({ requestId: `open-${userId}-KRW`, ownerId: userId, asset: "KRW" });
        this.#cash.set(userId, account!.accountId);
        await this.stack.ledger.deposit({ requestId: `initial-${userId}`, accountId: account!.accountId, amountMinor: INITIAL_KRW });
      }
      this.#deposited.set(userId, INITIAL_KRW);
      this.#transferred.set(userId, 0n);
      this.users.push(userId);
    }
  }

  /** Operations from `concurrency` workers until `stop` says enough (it sees the counts so far). */
  async run(concurrency: number, stop: (counts: WorkloadCounts) => boolean): Promise<WorkloadCounts> {
    const counts: WorkloadCounts = {
      ops: 0,
      viaGateway: 0,
      placed: 0,
      amends: 0,
      cancels: 0,
      deposits: 0,
      transfers: 0,
      refused: 0,
      inDoubt: 0,
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (!stop(counts)) {
          counts.ops++;
          const dice = Math.random();
          const userId = pick(this.users);
          let op: Op | undefined;
          if (dice < 0.45) {
            op = { kind: "place", req: this.#orderRequest(userId, dice < 0.3 ? Side.BUY : Side.SELL) };
            counts.placed++;
          } else if (dice < 0.53) {
            // One of the limit orders so far, amended by its owner: most have ended (refused, harmless), some still work.
            op = await this.#amendRequest(pick);
            if (op === undefined) continue;
            counts.amends++;
          } else if (dice < 0.65) {
            counts.cancels++;
            // One of the orders so far, cancelled by its owner; how it ended is read from the order later, whatever the answer.
            if (this.#orderIds.length === 0) continue;
            const orderId = pick(this.#orderIds);
            const owner = this.#ownerOf.get(orderId)!;
            const user = this.#console.get(owner);
            if (user !== undefined) counts.viaGateway++;
            const cancelled =
              user === undefined
                ? this.stack.orders.cancelOrder({ orderId, userId: owner })
                : user.call((trading) => trading.cancelOrder({ orderId }));
            await cancelled.catch(() => undefined);
            continue;
          } else if (dice < 0.8) {
            op = { kind: "deposit", userId, requestId: `dep-${randomUUID()}`, amount: BigInt(1 + Math.floor(Math.random() * 100_000)) };
            counts.deposits++;
          } else {
            const to = pick(this.users.filter((u) => u !== userId));
            const amount = BigInt(1 + Math.floor(Math.random() * 1_000_000));
            op = {
              kind: "transfer",
              from: userId,
              to,
              amount,
              req: create(ledger.TransferRequestSchema, {
                requestId: `xfer-${randomUUID()}`,
                legs: [
                  { accountId: this.#cash.get(userId)!, amountMinor: -amount, asset: "KRW" },
                  { accountId: this.#cash.get(to)!, amountMinor: amount, asset: "KRW" },
                ],
              }),
            };
            counts.transfers++;
          }
          if (op.kind !== "transfer" && this.#console.has(userId)) counts.viaGateway++;
          const outcome = await this.#attempt(op);
          if (outcome === "refused") counts.refused++;
          if (outcome === "doubt") {
            counts.inDoubt++;
            this.#doubts.push(op);
          }
        }
      }),
    );
    return counts;
  }

  #orderRequest(userId: string, side: Side): api.PlaceOrderRequest {
    const limit = Math.random() < 0.4; // DAY limits below/above the touch rest on the book: cancels and expiries have work
    return create(api.PlaceOrderRequestSchema, {
      idempotencyKey: `drill-${randomUUID()}`,
      userId,
      symbol: this.symbols[Math.floor(Math.random() * this.symbols.length)]!,
      side,
      type: limit ? OrderType.LIMIT : OrderType.MARKET,
      timeInForce: limit ? TimeInForce.DAY : TimeInForce.IOC,
      quantity: BigInt(1 + Math.floor(Math.random() * 5)),
      limitPriceKrw: 0n,
    });
  }

  /** One try: "ok" (done), "refused" (a definite no), "doubt" (no answer: replayed later with the same id). */
  async #attempt(op: Op): Promise<"ok" | "refused" | "doubt"> {
    try {
      if (op.kind === "place") {
        const req = op.req;
        if (req.type === OrderType.LIMIT && req.limitPriceKrw === 0n) req.limitPriceKrw = await this.#restingPrice(req);
        const user = this.#console.get(req.userId);
        // Through the gateway the user is the token's: the same order, without a user id.
        const { order } =
          user === undefined
            ? await this.stack.orders.placeOrder(req)
            : await user.call((trading) =>
                trading.placeOrder({
                  idempotencyKey: req.idempotencyKey,
                  symbol: req.symbol,
                  side: req.side,
                  type: req.type,
                  timeInForce: req.timeInForce,
                  quantity: req.quantity,
                  limitPriceKrw: req.limitPriceKrw,
                }),
              );
        this.#placed(order!, req);
      } else if (op.kind === "amend") {
        const req = op.req;
        const user = this.#console.get(req.userId);
        const { order } =
          user === undefined
            ? await this.stack.orders.amendOrder(req)
            : await user.call((trading) =>
                trading.amendOrder({
                  idempotencyKey: req.idempotencyKey,
                  orderId: req.orderId,
                  quantity: req.quantity,
                  limitPriceKrw: req.limitPriceKrw,
                }),
              );
        this.#placed(order!, { ...this.#limits.get(req.orderId)!, userId: req.userId });
      } else if (op.kind === "deposit") {
        const user = this.#console.get(op.userId);
        if (user === undefined)
          await this.stack.ledger.deposit({ requestId: op.requestId, accountId: this.#cash.get(op.userId)!, amountMinor: op.amount });
        else await user.call((trading) => trading.depositCash({ requestId: op.requestId, amountKrw: op.amount }));
        this.#deposited.set(op.userId, this.#deposited.get(op.userId)! + op.amount);
      } else {
        await this.stack.ledger.transfer(op.req);
        this.#transferred.set(op.from, this.#transferred.get(op.from)! - op.amount);
        this.#transferred.set(op.to, this.#transferred.get(op.to)! + op.amount);
      }
      return "ok";
    } catch (error) {
      const e = ConnectError.from(error);
      return DEFINITE.has(e.code) ? "refused" : "doubt";
    }
  }

  /** An order the workload knows of (a replay answers the same one again): a limit one can be amended. */
  #placed(order: Pick<api.Order, "orderId">, req: Pick<api.PlaceOrderRequest, "userId" | "symbol" | "side" | "type">): void {
    if (this.#ownerOf.has(order.orderId)) return;
    this.#orderIds.push(order.orderId);
    this.#ownerOf.set(order.orderId, req.userId);
    if (req.type === OrderType.LIMIT) {
      this.#limitIds.push(order.orderId);
      this.#limits.set(order.orderId, { symbol: req.symbol, side: req.side, type: req.type });
    }
  }

  /**
   * 정정 of a known limit order by its owner: 1-8 shares, resting 1-2 % off
   * the reference or (one in four) through it, so that amendments rest, trade
   * at once, grow and shrink the shared hold, and race the original's fills.
   */
  async #amendRequest(pick: <T>(xs: readonly T[]) => T): Promise<Op | undefined> {
    if (this.#limitIds.length === 0) return undefined;
    const orderId = pick(this.#limitIds);
    const terms = this.#limits.get(orderId)!;
    const quantity = BigInt(1 + Math.floor(Math.random() * 8));
    const resting = await this.#restingPrice({ symbol: terms.symbol, side: terms.side });
    const reference = this.#prices.get(terms.symbol)!;
    const through = terms.side === Side.BUY ? roundToTick((reference * 103n) / 100n, "down") : roundToTick((reference * 97n) / 100n, "up");
    const req = create(api.AmendOrderRequestSchema, {
      idempotencyKey: `drill-amend-${randomUUID()}`,
      userId: this.#ownerOf.get(orderId)!,
      orderId,
      quantity,
      limitPriceKrw: Math.random() < 0.25 ? through : resting,
    });
    return { kind: "amend", req };
  }

  /** A limit 1-2 % away from the reference price on the passive side: it rests until cancelled or expired. */
  async #restingPrice(req: Pick<api.PlaceOrderRequest, "symbol" | "side">): Promise<bigint> {
    if (!this.#prices.has(req.symbol)) {
      const { instruments } = await this.stack.exchange.listInstruments({});
      for (const i of instruments) this.#prices.set(i.symbol, i.referencePriceKrw);
    }
    const reference = this.#prices.get(req.symbol)!;
    const away = reference / 100n + (Math.random() < 0.5 ? reference / 100n : 0n);
    return req.side === Side.BUY ? roundToTick(reference - away, "down") : roundToTick(reference + away, "up");
  }

  /**
   * A write that takes the ledger's balance lock and is then refused for
   * funds (a hold larger than any balance), so it changes nothing whatever
   * the outcome. Its answer's code: FailedPrecondition when the ledger could
   * lock, Aborted when it could not (no Redlock quorum).
   */
  async probeLedgerWrite(): Promise<string> {
    try {
      await this.stack.ledger.placeHold({
        requestId: `probe-${randomUUID()}`,
        accountId: this.#cash.get(this.users[0]!)!,
        amountMinor: 2n ** 62n,
        reference: "drill probe",
      });
      return "OK";
    } catch (error) {
      return Code[ConnectError.from(error).code];
    }
  }

  /** Replays every operation left in doubt with its own id until each has a definite answer. */
  async settleDoubts(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let replayed = 0;
    while (this.#doubts.length > 0) {
      if (Date.now() > deadline) throw new Error(`${this.#doubts.length} operations still without an answer`);
      const pending = this.#doubts;
      this.#doubts = [];
      // 16 at a time: replaying thousands one by one would measure this client, not the recovery.
      await forEachConcurrently(pending, 16, async (op) => {
        if ((await this.#attempt(op)) === "doubt") this.#doubts.push(op);
        else replayed++;
      });
      if (this.#doubts.length > 0) await new Promise((r) => setTimeout(r, 250));
    }
    return replayed;
  }

  async allOrders(): Promise<api.Order[]> {
    const all: api.Order[] = [];
    for (const userId of this.users) {
      let pageToken = "";
      do {
        const page = await this.stack.orders.listOrders({ userId, pageSize: 500, pageToken });
        all.push(...page.orders);
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
    }
    return all;
  }

  /** Waits until no order is on its way (RECEIVED, SENT, UNKNOWN, CANCEL_REQUESTED). Returns how long it took. */
  async untilNoneInFlight(timeoutMs: number): Promise<number> {
    const started = Date.now();
    while ((await this.allOrders()).some((o) => IN_FLIGHT.has(o.state))) {
      if (Date.now() - started > timeoutMs) return Number.NaN;
      await new Promise((r) => setTimeout(r, 200));
    }
    return Date.now() - started;
  }

  /** Ends the trading day and waits until every order is terminal with its hold released. */
  async closeDay(timeoutMs: number): Promise<boolean> {
    await this.stack.exchange.closeSession({});
    const started = Date.now();
    for (;;) {
      const orders = await this.allOrders();
      const done = orders.every((o) => TERMINAL.has(o.state));
      const held = done && (await this.#balances()).every((b) => b.heldMinor === 0n);
      if (done && held) return true;
      if (Date.now() - started > timeoutMs) return false;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async #balances(): Promise<ledger.Balance[]> {
    return (await Promise.all(this.users.map((ownerId) => this.stack.ledger.getBalances({ ownerId })))).flatMap((r) => r.balances);
  }

  /** Every invariant, each with the number of violations found (0 = holds). */
  async check(): Promise<Check[]> {
    const results: Check[] = [];
    const integrity = await this.stack.ledger.verifyIntegrity({});
    results.push({
      name: "ledger VerifyIntegrity",
      violations: integrity.discrepancies.length,
      detail: `${integrity.entriesChecked} entries, ${integrity.postingsChecked} postings`,
    });

    const balances = await this.#balances();
    const systemIds: string[] = [];
    for (const asset of ["KRW", ...this.symbols]) {
      for (const kind of [ledger.AccountKind.EXTERNAL, ledger.AccountKind.CLEARING, ledger.AccountKind.FEES]) {
        if (kind === ledger.AccountKind.FEES && asset !== "KRW") continue;
        systemIds.push((await this.stack.ledger.getSystemAccount({ kind, asset })).account!.accountId);
      }
    }
    const system = (await this.stack.ledger.getBalances({ accountIds: systemIds })).balances;
    const byAsset = new Map<string, bigint>();
    for (const b of [...balances, ...system]) byAsset.set(b.asset, (byAsset.get(b.asset) ?? 0n) + b.totalMinor);
    const unbalanced = [...byAsset].filter(([, sum]) => sum !== 0n);
    // Money in = our deposits: the external KRW account mirrors exactly what the workload deposited (drill users only).
    const deposited = [...this.#deposited.values()].reduce((a, b) => a + b, 0n);
    const userKrw = balances.filter((b) => b.asset === "KRW").reduce((a, b) => a + b.totalMinor, 0n);
    const clearingAndFees = system
      .filter((b) => b.asset === "KRW" && b.kind !== ledger.AccountKind.EXTERNAL)
      .reduce((a, b) => a + b.totalMinor, 0n);
    results.push({
      name: "conservation per asset",
      violations: unbalanced.length + (userKrw + clearingAndFees === deposited ? 0 : 1),
      detail: `${byAsset.size} assets sum to zero${unbalanced.length > 0 ? ` except ${unbalanced.map(([a, s]) => `${a} ${s}`).join(", ")}` : ""}; users + clearing + fees KRW = ${userKrw + clearingAndFees} vs deposited ${deposited}`,
    });

    const negative = balances.filter((b) => b.availableMinor < 0n || b.heldMinor < 0n);
    results.push({ name: "no negative available balance", violations: negative.length, detail: `${balances.length} user balances` });
    // After the close every order has ended: a hold left (an amendment chain's shared hold too) is money locked for nothing.
    const held = balances.filter((b) => b.heldMinor !== 0n);
    results.push({
      name: "no hold left after the close",
      violations: held.length,
      detail: `${balances.length} user balances${
        held.length > 0
          ? `; held: ${held
              .slice(0, 5)
              .map((b) => `${b.ownerId} ${b.asset} ${b.heldMinor}`)
              .join(", ")}`
          : ""
      }`,
    });

    const orders = await this.allOrders();
    const notTerminal = orders.filter((o) => !TERMINAL.has(o.state));
    results.push({
      name: "every order terminal",
      violations: notTerminal.length,
      detail: `${orders.length} orders (${orders.filter((o) => o.amendsOrderId !== "").length} amendments taken)${notTerminal.length > 0 ? `; not terminal: ${summarize(notTerminal.map((o) => api.OrderState[o.state]))}` : ""}`,
    });

    // The exchange's record of every order: the truth the ledger is held to, and the market data with the exchange's tape.
    const truths = new Map<string, exchange.OrderStatusResponse>();
    for (const o of orders) truths.set(o.orderId, await this.stack.exchange.orderStatus({ clientOrderId: o.orderId }));
    results.push(await this.#checkFills(orders, truths, balances));
    results.push(await this.#checkMarket([...truths.values()].flatMap((t) => t.fills)));
    return results;
  }

  /**
   * Each order's fills equal the exchange's record; each execution is settled
   * in exactly one ledger entry; each user's cash and shares equal what their
   * deposits, transfers and fills say.
   */
  async #checkFills(
    orders: api.Order[],
    truths: ReadonlyMap<string, exchange.OrderStatusResponse>,
    balances: ledger.Balance[],
  ): Promise<Check> {
    let violations = 0;
    const problems: string[] = [];
    const settlements = new Map<string, number>(); // execution id -> ledger entries
    for (const b of balances.filter((x) => x.asset !== "KRW")) {
      let pageToken = "";
      do {
        const page = await this.stack.ledger.listEntries({ accountId: b.accountId, pageSize: 500, pageToken });
        for (const e of page.entries) {
          const executionId = e.metadata["execution_id"];
          if (executionId !== undefined) settlements.set(executionId, (settlements.get(executionId) ?? 0) + 1);
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
    }
    const expectedCash = new Map(this.users.map((u) => [u, this.#deposited.get(u)! + this.#transferred.get(u)!]));
    const expectedShares = new Map<string, bigint>();
    let fills = 0;
    for (const o of orders) {
      const truth = truths.get(o.orderId)!;
      if (truth.filledQuantity !== o.filledQuantity) {
        violations++;
        problems.push(`order ${o.orderId}: filled ${o.filledQuantity}, exchange says ${truth.filledQuantity}`);
      }
      for (const f of truth.fills) {
        fills++;
        const n = settlements.get(f.executionId) ?? 0;
        if (n !== 1) {
          violations++;
          problems.push(`execution ${f.executionId} settled ${n} times`);
        }
      }
      const buy = o.side === Side.BUY;
      const cashDelta = buy ? -(o.filledNotionalKrw + o.feesKrw) : o.filledNotionalKrw - o.feesKrw;
      expectedCash.set(o.userId, expectedCash.get(o.userId)! + cashDelta);
      const key = `${o.userId}/${o.symbol}`;
      expectedShares.set(key, (expectedShares.get(key) ?? 0n) + (buy ? o.filledQuantity : -o.filledQuantity));
    }
    for (const b of balances) {
      const expected = b.asset === "KRW" ? expectedCash.get(b.ownerId) : (expectedShares.get(`${b.ownerId}/${b.asset}`) ?? 0n);
      if (expected !== b.totalMinor) {
        violations++;
        problems.push(`${b.ownerId} ${b.asset}: ${b.totalMinor}, expected ${expected}`);
      }
    }
    return {
      name: "no duplicate or missing fill/settlement; books per user",
      violations,
      detail: `${fills} executions, ${settlements.size} settled${problems.length > 0 ? `; ${problems.slice(0, 5).join("; ")}` : ""}`,
    };
  }

  /**
   * The market service's data agrees with the exchange's trades: its tape
   * (every execution published, the market maker's and the background
   * traders' too) holds every fill the exchange reported to the drill, and per
   * symbol the market shows the tape up to its newest trade (market-oracle.ts):
   * that day's volume and the last price, each listed trade one of the
   * exchange's, listed once, and nothing made before the check missing. The
   * market reads Kafka asynchronously: it is given time to catch up, the last
   * look counts.
   */
  async #checkMarket(fills: readonly exchange.Fill[]): Promise<Check> {
    const tape = await ExchangeTape.open(this.stack.kafkaBrokers, `${this.stack.kafkaTopicPrefix}${EXCHANGE_EXECUTIONS.name}`);
    try {
      // The whole topic first (joining a consumer group takes seconds): the market's time starts after.
      const read = await tape.catchUp(TAPE_READ_MS);
      const deadline = Date.now() + this.marketCatchUpMs;
      const madeBefore = new Set(tape.trades().trades.keys());
      let problems: string[];
      let tradeCount: number;
      for (;;) {
        const views = new Map<string, MarketView>();
        for (const symbol of this.symbols) views.set(symbol, await this.#marketView(symbol));
        // Everything the market can have seen is on the tape by now (the exchange publishes both topics in one request).
        const caughtUp = read && (await tape.catchUp(TAPE_READ_MS));
        const { trades, problems: ofTape } = tape.trades();
        tradeCount = trades.size;
        const unpublished = fills.filter((f) => !tape.has(f.executionId, trades));
        problems = [
          ...(caughtUp ? [] : [`the exchange's tape was not read to its end within ${TAPE_READ_MS} ms`]),
          ...ofTape.slice(0, 5),
          ...(unpublished.length > 0 ? [`${unpublished.length} of the drill's fills not on the exchange's tape`] : []),
          ...[...views].flatMap(([symbol, view]) => marketProblems(symbol, view, trades, madeBefore)),
        ];
        if (problems.length === 0 || Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      return {
        name: "market data = the exchange's trades",
        violations: problems.length,
        detail: `${tradeCount} trades on the exchange's tape, ${fills.length} drill fills${problems.length > 0 ? `; ${problems.join("; ")}` : ""}`,
      };
    } finally {
      await tape.close();
    }
  }

  /** The market's quote and recent trades of one moment: read again while a trade arrives in between. */
  async #marketView(symbol: string): Promise<MarketView> {
    const newest = async (limit: number) => (await this.stack.market.listTrades({ symbol, limit })).trades.map((t) => t.tradeId);
    for (let attempt = 1; ; attempt++) {
      const listedTradeIds = await newest(500);
      const quote = await this.stack.market.getQuote({ symbol }).then(
        ({ quote }) => quote!,
        (error: unknown) => (ConnectError.from(error).code === Code.NotFound ? undefined : Promise.reject(error)),
      );
      const view = { volume: quote?.volume ?? 0n, lastPriceKrw: quote?.lastPriceKrw ?? 0n, listedTradeIds };
      if ((await newest(1))[0] === listedTradeIds[0] || attempt === MARKET_READS_MAX) return view;
    }
  }
}

/** How long the exchange's executions topic may take to be read to its end. */
const TAPE_READ_MS = 60_000;
/** Reads of a symbol's market data before one without a trade in between is given up on (the flow is a few trades a second). */
const MARKET_READS_MAX = 20;

function summarize(items: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const i of items) counts.set(i, (counts.get(i) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ${n}`).join(", ");
}
