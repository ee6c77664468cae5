// The signed-in user's order updates, pushed by the gateway (StreamOrderUpdates,
// ADR 0022) instead of polled: one stream call, resumed from its last cursor
// whenever it breaks, so nothing is missed and nothing comes twice.
import type { OrderUpdate } from "@kuku/contracts/kuku/gateway/v1/gateway_pb";
import { Code, ConnectError, refresh, trading } from "./api.js";

const RETRY_MS = [250, 1_000, 2_000, 5_000];

export interface FeedHandlers {
  /** The stream is in place: the first time, and again after a cursor could not be resumed (load the orders anew). */
  reload(): Promise<void>;
  update(update: OrderUpdate): void;
  /** The session is over. */
  ended(): void;
}

export class OrderFeed {
  #cursor = "";
  readonly #abort = new AbortController();

  constructor(private readonly handlers: FeedHandlers) {}

  /** Runs until stopped; resolves once the stream is first in place and the orders are loaded. */
  start(): Promise<void> {
    return new Promise((ready) => void this.#run(ready));
  }

  stop(): void {
    this.#abort.abort();
  }

  async #run(ready: () => void): Promise<void> {
    let failures = 0;
    while (!this.#abort.signal.aborted) {
      try {
        for await (const message of trading.streamOrderUpdates({ afterCursor: this.#cursor }, { signal: this.#abort.signal })) {
          // No cursor yet: the orders are loaded once the stream is in place, so none falls in between.
          const first = this.#cursor === "";
          this.#cursor = message.cursor;
          failures = 0;
          if (first) await this.handlers.reload().finally(ready);
          if (message.update !== undefined) this.handlers.update(message.update);
        }
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        const code = ConnectError.from(error).code;
        if (code === Code.Unauthenticated && !(await refresh())) return this.handlers.ended();
        // What came after the cursor is no longer kept: start afresh from the orders as they are now.
        if (code === Code.FailedPrecondition) this.#cursor = "";
        failures += 1;
      }
      await new Promise((resume) => setTimeout(resume, RETRY_MS[Math.min(failures, RETRY_MS.length - 1)]));
    }
  }
}
