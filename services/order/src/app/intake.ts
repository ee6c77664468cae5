// Intake: a new order under its idempotency key, its hold at the ledger,
// and its trip to the exchange, taken as far as it goes now, and answered
// there: settlement follows from the executions consumer (or, on request,
// is waited for). An order left RECEIVED or in doubt is picked up again by
// the reconciler.
import { createHash, randomUUID } from "node:crypto";
import { toJson } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type * as exchange from "@kuku/contracts/kuku/exchange/v1/exchange_pb";
import type * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import * as api from "@kuku/contracts/kuku/order/v1/order_pb";
import type { Logger } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import { DomainError, failedPrecondition, invalidArgument } from "@kuku/platform/errors";
import type pg from "pg";
import {
  amendmentInput,
  amendmentTopUpMinor,
  checkOrderInput,
  type FeeSchedule,
  holdAmountMinor,
  type Instrument,
  isWorkingState,
  type Order,
  type OrderInput,
} from "../domain/order.js";
import { isTerminal } from "../domain/state-machine.js";
import * as store from "../store/order-store.js";
import { inputFromProto, reportFromProto, submitRequest } from "./convert.js";
import type { Instruments } from "./instruments.js";
import { BatchedIntake } from "./intake-batch.js";
import { HOLD_PLACED, holdAsset, holdRequest, markInDoubt, refuseHold, toSent } from "./intake-steps.js";
import type { LedgerAccounts } from "./ledger-accounts.js";
import type { OrderMetrics } from "./metrics.js";
import { type OrderRecords, orderEvent } from "./orders.js";
import type { Settlement } from "./settlement.js";

/** An idempotency key's payload, to tell a replay from another request under the same key. */
const payloadHash = (json: unknown) => createHash("sha256").update(JSON.stringify(json)).digest();

/** How often a PlaceOrder asked to wait looks at its order again. */
const SETTLED_POLL_MS = 20;

/** Nothing left for the ledger: terminal with its hold released, or resting (or waiting) with its known fills settled (settle just ran). */
const settledOrResting = (o: Order) =>
  isTerminal(o.state)
    ? o.holdReleased || o.holdId === ""
    : o.state === "accepted" || o.state === "partially_filled" || o.state === "waiting";

/** How a failed call to the ledger or the exchange reads in the order's terms (the edge knows the transport's codes). */
export interface CallFailures {
  /** The ledger's refusal of a hold (the balance does not cover it), in its words; undefined for any other failure. */
  refusal(error: unknown): string | undefined;
  /** Why a SubmitOrder without an answer leaves the order in doubt. */
  inDoubt(error: unknown): string;
  /** The ledger's refusal of a hold in a SubmitBatch (its google.rpc.Code and message), in its words; undefined for any other failure. */
  holdRefusal(code: number, message: string): string | undefined;
  /** A batch item's error (a google.rpc.Code and message) as the error its lone call would have thrown. */
  itemError(code: number, message: string): Error;
  /**
   * Whether a SubmitBatch operation's error (a google.rpc.Code) is the
   * ledger's refusal, which the same request gets again, rather than a
   * failure to apply it now (worth sending again at once).
   */
  isRefusal(code: number): boolean;
}

export interface IntakeDeps {
  readonly pool: pg.Pool;
  readonly ledger: Client<typeof ledger.LedgerService>;
  readonly exchange: Client<typeof exchange.ExchangeService>;
  readonly accounts: LedgerAccounts;
  readonly instruments: Instruments;
  readonly fees: FeeSchedule;
  readonly exchangeTimeoutMs: number;
  readonly failures: CallFailures;
  readonly records: OrderRecords;
  readonly settlement: Settlement;
  readonly logger: Logger;
  readonly metrics: OrderMetrics;
}

export class Intake {
  readonly #batched: BatchedIntake;

  constructor(private readonly deps: IntakeDeps) {
    this.#batched = new BatchedIntake(deps);
  }

  /**
   * A new order, entered and taken to the exchange in batches with the
   * PlaceOrders that arrive with it (intake-batch.ts). `waitMs`: how long to
   * wait for the order to settle (0: answer at acceptance); at most the
   * request's wait_settled_ms.
   */
  async place(req: api.PlaceOrderRequest, waitMs = req.waitSettledMs): Promise<Order> {
    const candidate = await this.#candidate(req.userId, inputFromProto(req), "");
    // The key's payload: everything but the key itself.
    const hash = payloadHash(toJson(api.PlaceOrderRequestSchema, { ...req, idempotencyKey: "", waitSettledMs: 0 }));
    const inserted = await this.#batched.insert({
      order: candidate,
      idempotencyKey: req.idempotencyKey,
      requestHash: hash,
      reason: "placed",
      event: orderEvent(candidate, "placed"),
    });
    const placed = this.#replayOf(inserted, req.idempotencyKey, hash) ?? (await this.#advanceBatched(inserted.order));
    return waitMs > 0 ? this.#untilSettled(placed, waitMs) : placed;
  }

  async #advanceBatched(order: Order): Promise<Order> {
    const { order: current, reported } = await this.#batched.advance(order);
    if (reported) await this.afterReport(current);
    return current;
  }

  /**
   * 정정: a replacement order naming the original, sharing its hold, then
   * sent as an amendment; once the venue has taken it, the original is
   * followed to its end (CANCELLED). The replacement joins the hold under
   * the original's row lock while the original is still working, so the hold
   * cannot be released under it; it adds to it only what its worst case needs
   * beyond the original's part (`amendmentTopUpMinor`), and the venue caps it
   * by what the original filled meanwhile. The hold is released once every
   * order on it is done.
   */
  async amend(req: api.AmendOrderRequest, original: Order): Promise<Order> {
    const hash = payloadHash(toJson(api.AmendOrderRequestSchema, { ...req, idempotencyKey: "" }));
    if (!isWorkingState(original.state)) return this.#notAmendable(req, hash, original);
    const instrument = await this.deps.instruments.get(original.symbol);
    const reason = `amends ${original.orderId}`;
    const inserted = await this.deps.records.locked(original.orderId, async (db, locked) => {
      if (!isWorkingState(locked.state)) return { kind: "refused" as const, original: locked };
      const amendment = amendmentInput(locked, req, instrument);
      if ("problem" in amendment) throw invalidArgument(amendment.problem.field, amendment.problem.reason);
      assert(instrument !== undefined, `${locked.symbol} passed the checks unlisted`);
      // No call out under the original's row lock: the instrument was read before.
      const candidate: Order = {
        ...this.#candidateOf(req.userId, amendment.input, locked.orderId, instrument),
        amendsFilledQuantity: locked.filledQuantity,
        holdId: locked.holdId,
        holdShared: true,
        holdAmountMinor: amendmentTopUpMinor(locked, amendment.input, instrument, this.deps.fees),
      };
      const result = await store.insertOrder(db, candidate, req.idempotencyKey, hash, { reason, event: orderEvent(candidate, reason) });
      if (result.kind === "inserted") await store.markHoldShared(db, locked.orderId);
      return result;
    });
    if (inserted.kind === "refused") return this.#notAmendable(req, hash, inserted.original);
    return this.#replayOf(inserted, req.idempotencyKey, hash) ?? (await this.advance(inserted.order));
  }

  /** An original no longer working: a replay of the amendment that replaced it answers the replacement, anything else is refused. */
  async #notAmendable(req: api.AmendOrderRequest, hash: Buffer, original: Order): Promise<Order> {
    const first = await store.orderByKey(this.deps.pool, req.userId, req.idempotencyKey);
    if (first?.requestHash.equals(hash)) return first.order;
    throw failedPrecondition(`order_id: ${original.orderId} is ${original.state} and cannot be amended`);
  }

  /** A key used before answers its first order (a replay) or, with another payload, ALREADY_EXISTS; undefined for a new order. */
  #replayOf(inserted: store.InsertResult, idempotencyKey: string, hash: Buffer): Order | undefined {
    if (inserted.kind === "inserted") return undefined;
    if (!inserted.requestHash.equals(hash)) {
      throw new DomainError("already_exists", `idempotency_key: ${idempotencyKey} was already used for a different order`);
    }
    return this.#replay(inserted.order);
  }

  /**
   * The old answer, on request: the ledger work done in-line, then the order
   * polled until it is settled or resting, or the wait is over. Whatever it
   * is then is the answer: a wait that ran out is not an error.
   */
  async #untilSettled(order: Order, waitMs: number): Promise<Order> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const current = await this.deps.settlement.settle(order.orderId).catch((error: unknown) => {
        this.deps.logger.warn({ orderId: order.orderId, err: error }, "settlement in-line failed; the consumer or the reconciler retries");
        return this.deps.records.get(order.orderId);
      });
      if (settledOrResting(current) || Date.now() >= deadline) return current;
      await new Promise((resolve) => setTimeout(resolve, Math.min(SETTLED_POLL_MS, Math.max(1, deadline - Date.now()))));
    }
  }

  /** The order the input asks for, checked against the market's rules. */
  async #candidate(userId: string, input: OrderInput, amendsOrderId: string): Promise<Order> {
    return this.#candidateOf(userId, input, amendsOrderId, await this.deps.instruments.get(input.symbol));
  }

  #candidateOf(userId: string, input: OrderInput, amendsOrderId: string, instrument: Instrument | undefined): Order {
    const problem = checkOrderInput(input, instrument);
    if (problem !== undefined) throw invalidArgument(problem.field, problem.reason);
    assert(instrument !== undefined, `${input.symbol} passed the checks unlisted`);
    const now = new Date();
    return {
      orderId: randomUUID(),
      userId,
      ...input,
      amendsOrderId,
      amendsFilledQuantity: 0n,
      filledQuantity: 0n,
      filledNotionalKrw: 0n,
      feesKrw: 0n,
      state: "received",
      rejectReason: "",
      holdId: "",
      holdAmountMinor: holdAmountMinor(input, instrument, this.deps.fees),
      holdShared: false,
      holdReleased: false,
      version: 0n,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** A replay answers what the first request answered, from the order's state. */
  #replay(order: Order): Order {
    if (order.state === "rejected" && order.holdId === "" && order.rejectReason.startsWith("insufficient")) {
      throw failedPrecondition(order.rejectReason);
    }
    return order;
  }

  /** Drives an order from RECEIVED (hold) and SENT (exchange) as far as it goes now. */
  async advance(order: Order): Promise<Order> {
    const current = order.state === "received" ? await this.#hold(order) : order;
    if (current.state !== "sent") return current;
    return this.#submit(current);
  }

  async #hold(order: Order): Promise<Order> {
    // An amendment the original's part of the shared hold covers adds nothing.
    if (order.holdShared && order.holdAmountMinor === 0n)
      return this.deps.records.change(order.orderId, order, toSent(order.holdId), HOLD_PLACED);
    const accountId = await this.deps.accounts.user(order.userId, holdAsset(order));
    let holdId: string;
    try {
      const { hold } = await this.deps.ledger.placeHold(holdRequest(order, accountId));
      holdId = hold!.holdId;
    } catch (error) {
      const refusal = this.deps.failures.refusal(error);
      if (refusal === undefined) throw error; // RECEIVED stays; the reconciler places the same hold again (same request id)
      throw await refuseHold(this.deps.records, order, refusal);
    }
    return this.deps.records.change(order.orderId, order, toSent(holdId), HOLD_PLACED);
  }

  /** Records what the venue now says of an amended original (CANCELLED once replaced), and its ledger work. */
  async followOriginal(orderId: string): Promise<Order> {
    const status = await this.deps.exchange.orderStatus({ clientOrderId: orderId }, { timeoutMs: this.deps.exchangeTimeoutMs });
    return this.deps.settlement.applyReport(orderId, reportFromProto(status.status, "", status.fills, status.quantity));
  }

  async #submit(order: Order): Promise<Order> {
    let answer: exchange.SubmitOrderResponse;
    try {
      answer = await this.deps.exchange.submitOrder(submitRequest(order), { timeoutMs: this.deps.exchangeTimeoutMs });
    } catch (error) {
      return markInDoubt(this.deps, order, error);
    }
    const recorded = await this.deps.settlement.record(
      order.orderId,
      reportFromProto(answer.status, answer.rejectReason, answer.fills, answer.quantity),
    );
    await this.afterReport(recorded);
    return recorded;
  }

  /** What follows the exchange's answer to an order once it is recorded. */
  async afterReport(recorded: Order): Promise<void> {
    if (recorded.amendsOrderId !== "" && recorded.state !== "rejected") {
      // The venue swapped the two: the original's end (and the release of its hold) is read now, the reconciler backs it up.
      await this.followOriginal(recorded.amendsOrderId).catch((error: unknown) => {
        this.deps.logger.warn({ orderId: recorded.amendsOrderId, err: error }, "amended original not followed; the reconciler retries");
      });
    }
    // Fills reach the executions consumer, which settles them (and releases a
    // filled order's rest). A refusal or a cancelled remainder has no event
    // of its own: its release starts here, and the reconciler backs it up.
    if (recorded.state === "rejected" || recorded.state === "cancelled" || recorded.state === "expired") {
      this.deps.settlement.settle(recorded.orderId).catch((error: unknown) => {
        this.deps.logger.warn({ orderId: recorded.orderId, err: error }, "release failed; the reconciler retries");
      });
    }
  }
}
