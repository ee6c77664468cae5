// The exchange's front desk: runs each call against the engine, applies the
// drill's fault mode, refreshes the market maker and publishes what happened
// before answering.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "@kuku/platform";
import { Engine, type OrderRecord, type SubmitInput, type SubmitResult } from "../domain/engine.js";
import { NO_FAULT, submitFault, type FaultSetting } from "../domain/faults.js";
import type { MarketMaker } from "../domain/market-maker.js";
import type { Publisher } from "../events/publisher.js";

export class ExchangeDown extends Error {
  override name = "ExchangeDown";
  constructor() {
    super("the exchange is down (fault mode DOWN)");
  }
}

/** The call was entered but, by the SILENT fault, is never answered. */
export class NeverAnswered extends Error {
  override name = "NeverAnswered";
}

const BOOK_DEPTH = 5;

export class Desk {
  #fault: FaultSetting = NO_FAULT;
  #bookSequence = 0n;
  /** Publishing is serialised so that Kafka sees executions in engine order. */
  #publishing: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: Engine,
    private readonly marketMaker: MarketMaker,
    private readonly publisher: Publisher,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  get fault(): FaultSetting {
    return this.#fault;
  }

  setFault(setting: FaultSetting): void {
    this.#fault = setting;
    this.logger.warn({ fault: setting }, "fault mode changed");
  }

  async submit(input: SubmitInput, signal: AbortSignal): Promise<SubmitResult> {
    const fault = submitFault(this.#fault, this.random());
    if (fault.kind === "down") throw new ExchangeDown();
    if (fault.kind === "delay") await sleep(fault.delayMs, undefined, { signal });
    const result = this.engine.submit(input, fault.kind === "reject" ? "simulated rejection (fault mode REJECT)" : undefined);
    if (!result.duplicate && result.order.status !== "rejected") this.marketMaker.quote(input.symbol);
    await this.#publish(result, input.symbol, fault.kind === "duplicate" ? 2 : 1);
    if (fault.kind === "silent") {
      this.logger.info({ clientOrderId: input.clientOrderId, status: result.order.status }, "entered, not answering (fault mode SILENT)");
      await new Promise<never>((_, reject) => {
        const fail = () => reject(new NeverAnswered("the caller gave up waiting (fault mode SILENT)"));
        if (signal.aborted) fail();
        else signal.addEventListener("abort", fail, { once: true });
      });
    }
    return result;
  }

  async cancel(clientOrderId: string): Promise<{ order: OrderRecord; cancelledQuantity: number }> {
    if (this.#fault.mode === "down") throw new ExchangeDown();
    const cancelled = this.engine.cancel(clientOrderId);
    // An id the exchange never saw is fenced: if the order arrives later, it is refused.
    if (cancelled === undefined) return { order: this.engine.fence(clientOrderId), cancelledQuantity: 0 };
    if (cancelled.cancelledQuantity > 0) {
      await this.#publish({ order: cancelled.order, duplicate: false, executions: [] }, cancelled.order.symbol, 1);
    }
    return cancelled;
  }

  /**
   * Ends the trading day: resting DAY orders expire, and the world is told.
   * The simulator opens the next day at once: the market maker quotes again.
   */
  async closeSession(): Promise<OrderRecord[]> {
    if (this.#fault.mode === "down") throw new ExchangeDown();
    const expired = this.engine.expireResting();
    this.marketMaker.quoteAll();
    await this.#enqueue(() => this.publisher.publishExpired(expired));
    this.logger.info({ expired: expired.length }, "session closed");
    return expired;
  }

  status(clientOrderId: string): OrderRecord | undefined {
    if (this.#fault.mode === "down") throw new ExchangeDown();
    return this.engine.status(clientOrderId);
  }

  async #publish(result: SubmitResult, symbol: string, copies: 1 | 2): Promise<void> {
    const book = this.engine.book(symbol);
    const snapshot =
      book === undefined || result.duplicate
        ? undefined
        : { symbol, sequence: ++this.#bookSequence, ...book.depth(BOOK_DEPTH), at: new Date() };
    await this.#enqueue(() => this.publisher.publish(result.executions, (id) => this.engine.status(id)!, snapshot, copies));
  }

  /** Runs a publish after the ones before it, so Kafka sees events in engine order. */
  async #enqueue(publish: () => Promise<void>): Promise<void> {
    const published = this.#publishing.then(publish);
    // A failed publish must not block the ones after it; the caller still sees its own failure.
    this.#publishing = published.catch((error: unknown) => this.logger.error({ err: error }, "publish failed"));
    await published;
  }
}
