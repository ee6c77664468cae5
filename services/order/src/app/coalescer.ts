// Calls that share one piece of work, as the ledger's group commit and its
// balance reads do (ADR 0018): while one batch is in flight, the calls that
// arrive queue, and the next batch takes them all (up to a bound) once it
// has answered. A lone call goes at once: no timer, so an idle service adds
// no latency, and a busy one sends fewer, larger batches. A batch runs in
// its first call's context (its trace): a lone call is traced as before.
import { AsyncLocalStorage } from "node:async_hooks";
import { assert } from "@kuku/platform/assert";

/** The work for a batch: one result per item, in order; an Error is that item's failure alone. */
export type BatchWork<I, R> = (items: readonly I[]) => Promise<readonly (R | Error)[]>;

interface Waiting<I, R> {
  readonly item: I;
  /** Runs a function in the caller's async context. */
  readonly inContext: <T>(fn: () => T) => T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class Coalescer<I, R> {
  readonly #queue: Waiting<I, R>[] = [];
  #running = false;

  /** `onBatch`: told each batch's size (for the metrics). */
  constructor(
    private readonly work: BatchWork<I, R>,
    private readonly batchMax: number,
    private readonly onBatch: (size: number) => void = () => {},
  ) {
    assert(batchMax >= 1, `a batch of at most ${batchMax} items`);
  }

  /** The item's result, from the next batch: its own Error, or the whole batch's failure. */
  run(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, inContext: AsyncLocalStorage.snapshot(), resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.batchMax);
        this.onBatch(batch.length);
        try {
          const results = await batch[0]!.inContext(() => this.work(batch.map((w) => w.item)));
          assert(results.length === batch.length, `a batch of ${batch.length} answered ${results.length} results`);
          batch.forEach((w, i) => {
            const result = results[i]!;
            if (result instanceof Error) w.reject(result);
            else w.resolve(result);
          });
        } catch (error) {
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
