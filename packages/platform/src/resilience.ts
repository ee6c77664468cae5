// Policies on a service-to-service link, run around each unary call (by the
// service client's unary path, or as a Connect client interceptor):
//
//   bulkhead → retry (idempotent calls only, as the contract says) → circuit breaker → attempt timeout → rate limit → the wire
//
// The bulkhead is outermost so that a call and all its retries hold one slot:
// it bounds the work we put on the downstream, not the attempts. Retries sit
// outside the breaker so that every attempt is judged by it, and an open
// breaker (a local refusal) is never retried. The rate limiter is innermost:
// every attempt that goes on the wire takes a token, an attempt refused by
// the breaker takes none, and waiting for a token counts against the
// attempt's time. The overall deadline is the call's (its timeoutMs):
// retries happen within it, never past it.
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  IsolatedCircuitError,
  retry,
  SamplingBreaker,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import type { Logger } from "pino";
import { Counter, Gauge, register } from "prom-client";
import { mayRepeat } from "./idempotency.js";

export interface ResilienceOptions {
  /** The downstream, as a metrics label and log field: "ledger", "exchange". */
  readonly target: string;
  readonly logger: Logger;
  /** One attempt's deadline; the call's own timeoutMs bounds all attempts together. */
  readonly attemptTimeoutMs: number;
  readonly retry: { readonly attemptsMax: number; readonly delayMsInitial: number; readonly delayMsMax: number };
  readonly breaker: BreakerOptions;
  readonly bulkhead: { readonly concurrencyMax: number; readonly queueMax: number };
  readonly rateLimit?: { readonly callsPerSecond: number; readonly burst: number; readonly waitMsMax: number };
}

/**
 * When the circuit opens: after N failures in a row, or when the share of
 * failures over a sliding window passes a ratio (only at a minimum call rate,
 * so that two failures out of three calls at night do not open it).
 */
export type BreakerOptions =
  | { readonly consecutiveFailuresMax: number; readonly halfOpenAfterMs: number }
  | { readonly failureRatioMax: number; readonly windowMs: number; readonly callsPerSecondMin: number; readonly halfOpenAfterMs: number };

/** The handle a service keeps: the policies, as a Connect interceptor or to run a call through, and the breaker (for tests, health, drills). */
export interface Resilience {
  readonly interceptor: Interceptor;
  /**
   * One unary call of `method` with `message` through the policies: `attempt` sends it once, given the
   * attempt's signal (aborted by the attempt timeout, or when `signal` is). A local refusal or an attempt
   * timeout fails as a ConnectError naming the target; an attempt's own failure passes through.
   */
  readonly run: <T>(method: DescMethod, message: object, signal: AbortSignal, attempt: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  readonly breaker: CircuitBreakerPolicy;
}

// Codes that mean the downstream (or the path to it) is in trouble: they open the breaker.
const TROUBLE = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Internal, Code.Unknown, Code.ResourceExhausted]);
// Codes after which the same request may succeed: UNAVAILABLE (not served, or the
// connection broke), ABORTED (the ledger's serialization conflict: "caller may retry").
const RETRYABLE = new Set([Code.Unavailable, Code.Aborted]);

/** Refused here, before anything went on the wire: the downstream never saw the call. */
export class RateLimitedError extends Error {
  override name = "RateLimitedError";
}

/** True when the error proves the call never left this process (open breaker, full bulkhead, rate limit). */
export function neverSent(error: unknown): boolean {
  const cause = error instanceof ConnectError ? error.cause : error;
  return (
    cause instanceof BrokenCircuitError ||
    cause instanceof IsolatedCircuitError ||
    cause instanceof BulkheadRejectedError ||
    cause instanceof RateLimitedError
  );
}

export function createResilience(options: ResilienceOptions): Resilience {
  const { target, logger } = options;
  const m = metrics();
  const isTrouble = (e: unknown) => e instanceof TaskCancelledError || (e instanceof ConnectError && TROUBLE.has(e.code));
  const breaker = circuitBreaker(handleWhen(isTrouble), {
    halfOpenAfter: options.breaker.halfOpenAfterMs,
    breaker:
      "consecutiveFailuresMax" in options.breaker
        ? new ConsecutiveBreaker(options.breaker.consecutiveFailuresMax)
        : new SamplingBreaker({
            threshold: options.breaker.failureRatioMax,
            duration: options.breaker.windowMs,
            minimumRps: options.breaker.callsPerSecondMin,
          }),
  });
  m.circuitState.set({ target }, CircuitState.Closed);
  breaker.onStateChange((state) => {
    m.circuitState.set({ target }, state);
    if (state === CircuitState.Open) m.circuitOpenings.inc({ target });
    m.circuitTransitions.inc({ target, to: STATE_LABEL[state] });
    const log = state === CircuitState.Closed ? logger.info.bind(logger) : logger.warn.bind(logger);
    log({ target, circuit: CircuitState[state] }, `circuit to ${target} ${CircuitState[state].toLowerCase()}`);
  });
  const attempt = wrap(breaker, timeout(options.attemptTimeoutMs, TimeoutStrategy.Aggressive));
  const limiter = options.rateLimit === undefined ? undefined : new TokenBucket(options.rateLimit);
  const isRetryable = (e: unknown) => e instanceof TaskCancelledError || (e instanceof ConnectError && RETRYABLE.has(e.code));
  const retrying = retry(handleWhen(isRetryable), {
    maxAttempts: options.retry.attemptsMax - 1,
    // Decorrelated jitter (cockatiel's default generator): callers that failed together do not retry together.
    backoff: new ExponentialBackoff({ initialDelay: options.retry.delayMsInitial, maxDelay: options.retry.delayMsMax }),
  });
  const slots = bulkhead(options.bulkhead.concurrencyMax, options.bulkhead.queueMax);
  retrying.onRetry((r) =>
    logger.debug({ target, attempt: r.attempt, delayMs: r.delay, err: "error" in r ? r.error : undefined }, "retrying"),
  );

  const once = <T>(signal: AbortSignal, send: (signal: AbortSignal) => Promise<T>) =>
    attempt.execute(async ({ signal: attemptSignal }) => {
      await limiter?.take(attemptSignal);
      return send(attemptSignal);
    }, signal);

  const run: Resilience["run"] = async (method, message, signal, send) => {
    const mayRetry = mayRepeat(method, message);
    try {
      return await slots.execute(async () => {
        if (!mayRetry) return once(signal, send);
        return retrying.execute(async ({ attempt: n }) => {
          if (n > 0) m.retries.inc({ target, method: method.localName });
          return once(signal, send);
        }, signal);
      }, signal);
    } catch (error) {
      const refusal = refusalReason(error);
      if (refusal !== undefined) m.rejections.inc({ target, reason: refusal });
      throw toConnectError(error, target);
    }
  };
  const interceptor: Interceptor = (next) => (req) => {
    if (req.stream) return next(req); // streams are long-lived; no per-call policies
    return run(req.method, req.message, req.signal, (signal) => next({ ...req, signal }));
  };
  return { interceptor, run, breaker };
}

function refusalReason(error: unknown): string | undefined {
  if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) return "circuit_open";
  if (error instanceof BulkheadRejectedError) return "bulkhead";
  if (error instanceof RateLimitedError) return "rate_limit";
  return undefined;
}

function toConnectError(error: unknown, target: string): unknown {
  if (error instanceof ConnectError) return error;
  if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
    return new ConnectError(`circuit to ${target} is open`, Code.Unavailable, undefined, undefined, error);
  }
  if (error instanceof BulkheadRejectedError) {
    return new ConnectError(`too many calls in flight to ${target}`, Code.ResourceExhausted, undefined, undefined, error);
  }
  if (error instanceof RateLimitedError) return new ConnectError(error.message, Code.ResourceExhausted, undefined, undefined, error);
  if (error instanceof TaskCancelledError) {
    return new ConnectError(`${target} did not answer in time`, Code.DeadlineExceeded, undefined, undefined, error);
  }
  return error;
}

/**
 * A token bucket: `burst` calls at once, refilled at `callsPerSecond`. A
 * caller waits for its token at most `waitMsMax` (and never past its own
 * deadline), then is refused: a queue without a bound is an outage in slow motion.
 */
export class TokenBucket {
  #tokens: number;
  #refilledAt = performance.now();

  constructor(private readonly options: { readonly callsPerSecond: number; readonly burst: number; readonly waitMsMax: number }) {
    if (!(options.callsPerSecond > 0) || !(options.burst >= 1)) throw new Error("rate limit: callsPerSecond > 0 and burst >= 1");
    this.#tokens = options.burst;
  }

  async take(signal: AbortSignal): Promise<void> {
    this.#refill();
    this.#tokens -= 1; // reserve now: waiters are served in arrival order
    if (this.#tokens >= 0) return;
    const waitMs = (-this.#tokens / this.options.callsPerSecond) * 1000;
    if (waitMs > this.options.waitMsMax) {
      this.#tokens += 1;
      throw new RateLimitedError(`rate limit: ${this.options.callsPerSecond} calls/s exceeded`);
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        this.#tokens += 1; // the reserved token goes back: this caller is gone
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, waitMs);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.options.burst, this.#tokens + ((now - this.#refilledAt) / 1000) * this.options.callsPerSecond);
    this.#refilledAt = now;
  }
}

// Label values of kuku_client_circuit_transitions_total, as Prometheus spells them.
const STATE_LABEL: Record<CircuitState, string> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "isolated",
};

interface ResilienceMetrics {
  circuitState: Gauge<"target">;
  circuitOpenings: Counter<"target">;
  circuitTransitions: Counter<"target" | "to">;
  retries: Counter<"target" | "method">;
  rejections: Counter<"target" | "reason">;
}

let registered: ResilienceMetrics | undefined;

/** On prom-client's default registry, once per process, whoever serves /metrics. */
function metrics(): ResilienceMetrics {
  registered ??= {
    circuitState: new Gauge({
      name: "kuku_client_circuit_state",
      help: "Circuit breaker state per downstream: 0 closed, 1 open, 2 half-open, 3 isolated",
      labelNames: ["target"],
      registers: [register],
    }),
    circuitOpenings: new Counter({
      name: "kuku_client_circuit_openings_total",
      help: "Times the circuit to a downstream opened",
      labelNames: ["target"],
      registers: [register],
    }),
    // The gauge shows only the state at scrape time: a breaker that half-opened and closed
    // between two scrapes (a drill's short fault) leaves its trace only here.
    circuitTransitions: new Counter({
      name: "kuku_client_circuit_transitions_total",
      help: "Circuit breaker state changes per downstream, by the state entered (open, half_open, closed, isolated)",
      labelNames: ["target", "to"],
      registers: [register],
    }),
    retries: new Counter({
      name: "kuku_client_retries_total",
      help: "Retried attempts of idempotent calls, per downstream and method",
      labelNames: ["target", "method"],
      registers: [register],
    }),
    rejections: new Counter({
      name: "kuku_client_rejections_total",
      help: "Calls refused locally, never sent to the downstream (circuit open, bulkhead full, rate limit)",
      labelNames: ["target", "reason"],
      registers: [register],
    }),
  };
  return registered;
}
