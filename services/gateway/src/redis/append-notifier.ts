// Wakes the stream calls of a user when an update was appended to their log,
// on any gateway: one subscriber connection per process, one channel per user
// with a stream call here. A message only says "read again"; the log is the
// truth, so a message lost while the connection was down costs nothing but a
// re-read, which every watcher does when the connection comes back.
import type { Redis } from "ioredis";
import type { Logger } from "pino";

export interface Wakeup {
  /** Resolves true when woken (or woken since the last wait), false after `timeoutMs` or once `signal` aborts. */
  wait(timeoutMs: number, signal: AbortSignal): Promise<boolean>;
  close(): void;
}

class Watcher implements Wakeup {
  #pending = false;
  #resolve: ((woken: boolean) => void) | undefined;

  constructor(private readonly onClose: (w: Watcher) => void) {}

  wake(): void {
    if (this.#resolve === undefined) this.#pending = true;
    else this.#resolve(true);
  }

  wait(timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (this.#pending || signal.aborted) {
      this.#pending = false;
      return Promise.resolve(!signal.aborted);
    }
    return new Promise<boolean>((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.#resolve = undefined;
        resolve(woken);
      };
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#resolve = done;
    });
  }

  close(): void {
    this.#resolve?.(false);
    this.onClose(this);
  }
}

interface Channel {
  readonly watchers: Set<Watcher>;
  /** Settles once the subscription is in place: every watcher of the channel waits for it. */
  readonly subscribed: Promise<unknown>;
}

export class AppendNotifier {
  readonly #channels = new Map<string, Channel>();

  constructor(
    private readonly subscriber: Redis,
    private readonly logger: Logger,
  ) {
    subscriber.on("message", (channel: string) => {
      for (const w of this.#channels.get(channel)?.watchers ?? []) w.wake();
    });
    // ioredis subscribes again after a reconnection; what was published meanwhile is read now.
    subscriber.on("ready", () => {
      for (const channel of this.#channels.values()) for (const w of channel.watchers) w.wake();
    });
  }

  /** A wakeup for appends on `name`, subscribed before this resolves: nothing appended after it is missed. */
  async watch(name: string): Promise<Wakeup> {
    let channel = this.#channels.get(name);
    if (channel === undefined) {
      channel = { watchers: new Set(), subscribed: this.subscriber.subscribe(name) };
      this.#channels.set(name, channel);
    }
    const watcher = new Watcher((w) => this.#unwatch(name, w));
    channel.watchers.add(watcher);
    try {
      await channel.subscribed;
    } catch (error) {
      watcher.close();
      throw error;
    }
    return watcher;
  }

  #unwatch(name: string, watcher: Watcher): void {
    const channel = this.#channels.get(name);
    if (channel === undefined || !channel.watchers.delete(watcher) || channel.watchers.size > 0) return;
    this.#channels.delete(name);
    this.subscriber
      .unsubscribe(name)
      .catch((error: Error) => this.logger.warn({ message: error.message, channel: name }, "unsubscribe failed"));
  }

  /** Stream calls being served here: the cost gauge of ADR 0022. */
  get watching(): number {
    let n = 0;
    for (const channel of this.#channels.values()) n += channel.watchers.size;
    return n;
  }
}
