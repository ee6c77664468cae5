// The desk's way to Kafka: commands' events wait here in journal order, and
// whatever is waiting when Kafka is free goes in one request. A request is
// retried until Kafka takes it: a maker's fill reaches its broker only this way.
import type { Logger } from "@kuku/platform";
import { ExponentialBackoff, handleAll, retry } from "cockatiel";
import type { Publisher, PublishItem } from "../events/publisher.js";

interface Waiting {
  readonly sequence: bigint;
  readonly item: PublishItem;
  readonly sent: () => void;
}

export class PublishQueue {
  readonly #waiting: Waiting[] = [];
  #sending = false;
  #lastQueued: Promise<void> = Promise.resolve();
  #publishedThrough: bigint;
  readonly #retry = retry(handleAll, {
    maxAttempts: Number.POSITIVE_INFINITY,
    backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5_000 }),
  });

  /** `publishedThrough`: the journal sequence Kafka is known to have; `batchMax`: commands per request. */
  constructor(
    private readonly publisher: Publisher,
    logger: Logger,
    private readonly batchMax: number,
    publishedThrough: bigint,
  ) {
    this.#publishedThrough = publishedThrough;
    this.#retry.onRetry((reason) => logger.warn({ err: "error" in reason ? reason.error : undefined }, "publish failed; retrying"));
  }

  /** The last journal sequence whose events Kafka has taken. */
  get publishedThrough(): bigint {
    return this.#publishedThrough;
  }

  /** Settles once everything queued so far is on Kafka. */
  get drained(): Promise<void> {
    return this.#lastQueued;
  }

  /** Queues a command's events behind the ones before it; resolves once Kafka has them. */
  enqueue(sequence: bigint, item: PublishItem): Promise<void> {
    const queued = new Promise<void>((sent) => {
      this.#waiting.push({ sequence, item, sent });
    });
    this.#lastQueued = queued;
    if (!this.#sending) void this.#sendWaiting();
    return queued;
  }

  async #sendWaiting(): Promise<void> {
    this.#sending = true;
    try {
      while (this.#waiting.length > 0) {
        const batch = this.#waiting.splice(0, this.batchMax);
        await this.#retry.execute(() => this.publisher.publish(batch.map((w) => w.item)));
        const last = batch.at(-1)!.sequence;
        if (last > this.#publishedThrough) this.#publishedThrough = last;
        for (const w of batch) w.sent();
      }
    } finally {
      this.#sending = false;
    }
  }
}
