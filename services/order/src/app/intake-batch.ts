// Batched intake: concurrent PlaceOrders share each step of the way to the
// exchange. Every step is its own batch (coalescer.ts): while one batch of a
// step is in flight the orders that reach that step queue, and the next batch
// takes them, so the steps work on different batches at once and a lone order
// goes straight through. Per batch: one multi-row insert of the orders with
// their events, one ledger SubmitBatch of their holds, one multi-row update
// RECEIVED -> SENT followed by one SubmitOrders to the exchange, and one
// transaction recording the exchange's answers. Each order keeps its own answer, and
// every guarantee of the lone path: idempotent ids at the ledger and the
// exchange, RECEIVED and UNKNOWN left to the reconciler, the outbox.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import * as ledger from "@kuku/contracts/kuku/ledger/v1/ledger_pb";
import { withTransaction } from "@kuku/platform";
import { assert } from "@kuku/platform/assert";
import type { Order } from "../domain/order.js";
import * as store from "../store/order-store.js";
import { Coalescer } from "./coalescer.js";
import { type ExchangeReport, reportFromProto, submitRequest } from "./convert.js";
import type { IntakeDeps } from "./intake.js";
import { HOLD_PLACED, holdAsset, holdRequest, markInDoubt, refuseHold, toSent } from "./intake-steps.js";
import { orderEvent } from "./orders.js";
import { recordReports } from "./report-record.js";

/**
 * Orders per batch at each step: a batch this size is a few milliseconds of
 * each downstream's time, and it bounds one statement's arrays and one
 * SubmitOrders (whose contract allows 1,024).
 */
export const INTAKE_BATCH_MAX = 256;

interface Held {
  readonly order: Order;
  readonly holdId: string;
}

interface Answered {
  readonly order: Order;
  /** The exchange's answer; undefined when it gave none (the order is UNKNOWN now). */
  readonly report: ExchangeReport | undefined;
}

export class BatchedIntake {
  readonly #inserts: Coalescer<store.NewOrder, store.InsertResult>;
  readonly #holds: Coalescer<Order, Held>;
  readonly #submits: Coalescer<Held, Answered>;
  readonly #records: Coalescer<Answered & { readonly report: ExchangeReport }, Order>;

  constructor(
    private readonly deps: IntakeDeps,
    batchMax = INTAKE_BATCH_MAX,
  ) {
    const step = <I, R>(name: string, work: (items: readonly I[]) => Promise<readonly (R | Error)[]>) =>
      new Coalescer(work, batchMax, (size) => deps.metrics.intakeBatch(name, size));
    this.#inserts = step("insert", (orders) => store.insertOrders(deps.pool, orders));
    this.#holds = step("hold", (orders) => this.#placeHolds(orders));
    this.#submits = step("submit", (held) => this.#submit(held));
    this.#records = step("record", (answered) => this.#record(answered));
  }

  /** Enters the order under its key (a replay, or a conflict, finds the order first entered under it). */
  insert(order: store.NewOrder): Promise<store.InsertResult> {
    return this.#inserts.run(order);
  }

  /** A new (RECEIVED) order taken as far as it goes now; `reported`: the exchange answered, and that is recorded. */
  async advance(order: Order): Promise<{ order: Order; reported: boolean }> {
    const answered = await this.#submits.run(await this.#holds.run(order));
    if (answered.report === undefined) return { order: answered.order, reported: false };
    return { order: await this.#records.run({ ...answered, report: answered.report }), reported: true };
  }

  /**
   * One SubmitBatch of the orders' holds (not linked: each stands alone). A
   * refused hold rejects its order alone; any other failure, of one hold or
   * of the call, leaves the order RECEIVED for the reconciler, which places
   * the same hold again (same request id).
   */
  async #placeHolds(orders: readonly Order[]): Promise<(Held | Error)[]> {
    const accounts = await Promise.allSettled(orders.map((o) => this.deps.accounts.user(o.userId, holdAsset(o))));
    const ready = orders.flatMap((order, i) => {
      const account = accounts[i]!;
      return account.status === "fulfilled" ? [{ order, accountId: account.value }] : [];
    });
    const results =
      ready.length === 0
        ? []
        : (
            await this.deps.ledger.submitBatch(
              create(ledger.SubmitBatchRequestSchema, {
                batchId: `holds-${randomUUID()}`,
                operations: ready.map((r) => ({ operation: { case: "placeHold" as const, value: holdRequest(r.order, r.accountId) } })),
              }),
            )
          ).results;
    assert(results.length === ready.length, `SubmitBatch answered ${results.length} results for ${ready.length} holds`);
    const resultOf = new Map(ready.map((r, i) => [r.order.orderId, results[i]!.result]));
    return Promise.all(
      orders.map(async (order, i): Promise<Held | Error> => {
        const account = accounts[i]!;
        if (account.status === "rejected") return account.reason instanceof Error ? account.reason : new Error(String(account.reason));
        const result = resultOf.get(order.orderId)!;
        if (result.case === "placeHold") return { order, holdId: result.value.hold!.holdId };
        assert(result.case === "error", `a hold answered ${result.case}`);
        const refusal = this.deps.failures.holdRefusal(result.value.code, result.value.message);
        if (refusal !== undefined) return refuseHold(this.deps.records, order, refusal).catch(asError);
        return this.deps.failures.itemError(result.value.code, result.value.message);
      }),
    );
  }

  /**
   * Marks the batch SENT, then sends those still SENT. SENT is written just
   * before the call, as for a lone order: an order waiting for the batch
   * ahead of it waits RECEIVED (its hold placed), so the reconciler's
   * patience with a SENT order (the exchange budget) covers its own call
   * only, and it never fences an order that is merely queued.
   */
  async #submit(held: readonly Held[]): Promise<(Answered | Error)[]> {
    const marked = await this.#markSent(held);
    const sent = marked.filter((m): m is Order => !(m instanceof Error) && m.state === "sent");
    const answers = await this.#submitSent(sent);
    const answerOf = new Map(sent.map((o, i) => [o.orderId, answers[i]!]));
    // An order someone else moved on (the reconciler) is answered in the state it is in.
    return marked.map((m) => (m instanceof Error ? m : (answerOf.get(m.orderId) ?? { order: m, report: undefined })));
  }

  /** One multi-row RECEIVED -> SENT; an order someone else changed meanwhile takes the lone path's change. */
  async #markSent(held: readonly Held[]): Promise<(Order | Error)[]> {
    const rows = held.map(({ order, holdId }) => {
      const next = toSent(holdId)(order);
      assert(next?.kind === "ok", `order ${order.orderId} just entered is ${order.state}`);
      const after = next.order;
      return { before: order, after, reason: HOLD_PLACED, event: orderEvent(after, HOLD_PLACED, { previousState: order.state }) };
    });
    const written = await store.saveOrders(this.deps.pool, rows);
    return Promise.all(
      rows.map(({ before, after }, i) =>
        written.has(before.orderId)
          ? after
          : this.deps.records.change(before.orderId, undefined, toSent(held[i]!.holdId), HOLD_PLACED).catch(asError),
      ),
    );
  }

  /**
   * One SubmitOrders. No answer for the batch puts every order of it in
   * doubt (UNKNOWN), as no answer does to a lone order; an order the
   * exchange could not enter is in doubt alone.
   */
  async #submitSent(orders: readonly Order[]): Promise<(Answered | Error)[]> {
    if (orders.length === 0) return [];
    let results: Awaited<ReturnType<IntakeDeps["exchange"]["submitOrders"]>>["results"];
    try {
      ({ results } = await this.deps.exchange.submitOrders(
        { batchId: `orders-${randomUUID()}`, orders: orders.map(submitRequest) },
        { timeoutMs: this.deps.exchangeTimeoutMs },
      ));
    } catch (error) {
      return Promise.all(orders.map((o) => this.#inDoubt(o, error)));
    }
    assert(results.length === orders.length, `SubmitOrders answered ${results.length} results for ${orders.length} orders`);
    return Promise.all(
      orders.map((order, i) => {
        const { result } = results[i]!;
        if (result.case === "order") {
          const answer = result.value;
          return { order, report: reportFromProto(answer.status, answer.rejectReason, answer.fills, answer.quantity) };
        }
        assert(result.case === "error", `an order answered ${result.case}`);
        return this.#inDoubt(order, this.deps.failures.itemError(result.value.code, result.value.message));
      }),
    );
  }

  #inDoubt(order: Order, error: unknown): Promise<Answered | Error> {
    return markInDoubt(this.deps, order, error).then((changed) => ({ order: changed, report: undefined }), asError);
  }

  /** The exchange's answers recorded in ONE transaction, the orders read under their row locks (in id order). */
  #record(answered: readonly (Answered & { readonly report: ExchangeReport })[]): Promise<Order[]> {
    return withTransaction(this.deps.pool, async (db) => {
      const ids = answered.map((a) => a.order.orderId);
      const locked = new Map((await store.getOrders(db, ids, { forUpdate: true })).map((o) => [o.orderId, o]));
      return recordReports(
        db,
        this.deps,
        answered.map(({ order, report }) => {
          const current = locked.get(order.orderId);
          assert(current !== undefined, `order ${order.orderId} vanished`);
          return { order: current, report, fresh: true };
        }),
      );
    });
  }
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));
