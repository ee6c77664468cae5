// The policy settings every service reads for its downstream clients, named
// `<PREFIX>_RETRY_ATTEMPTS_MAX` and so on, so the order service and the
// gateway are tuned the same way and their manifests name the same knobs.
import { type Config, intVar } from "./config.js";
import type { Logger } from "./logger.js";
import type { ResilienceOptions } from "./resilience.js";

export function resilienceConfigShape(prefix: string) {
  return {
    retryAttemptsMax: intVar(`${prefix}_RETRY_ATTEMPTS_MAX`, 4, { min: 1, max: 20 }),
    retryDelayMsInitial: intVar(`${prefix}_RETRY_DELAY_MS_INITIAL`, 20, { min: 1, max: 10_000 }),
    retryDelayMsMax: intVar(`${prefix}_RETRY_DELAY_MS_MAX`, 500, { min: 1, max: 60_000 }),
    /** The circuit to a downstream opens when this share of calls fails over the window (at a minimum call rate). */
    breakerFailurePercentMax: intVar(`${prefix}_BREAKER_FAILURE_PERCENT_MAX`, 50, { min: 1, max: 100 }),
    breakerWindowMs: intVar(`${prefix}_BREAKER_WINDOW_MS`, 10_000, { min: 100, max: 600_000 }),
    breakerCallsPerSecondMin: intVar(`${prefix}_BREAKER_CALLS_PER_SECOND_MIN`, 5, { min: 1, max: 100_000 }),
    breakerHalfOpenAfterMs: intVar(`${prefix}_BREAKER_HALF_OPEN_AFTER_MS`, 1_000, { min: 10, max: 600_000 }),
    /** Calls in flight per downstream, and calls waiting for a slot. */
    bulkheadConcurrencyMax: intVar(`${prefix}_BULKHEAD_CONCURRENCY_MAX`, 64, { min: 1, max: 10_000 }),
    bulkheadQueueMax: intVar(`${prefix}_BULKHEAD_QUEUE_MAX`, 512, { min: 0, max: 100_000 }),
  };
}

export type ResilienceConfig = Config<ReturnType<typeof resilienceConfigShape>>;

/** The options shared by every downstream of one service; each client adds its target and deadlines. */
export function sharedPolicies(
  config: ResilienceConfig,
  logger: Logger,
): Pick<ResilienceOptions, "logger" | "retry" | "breaker" | "bulkhead"> {
  return {
    logger,
    retry: { attemptsMax: config.retryAttemptsMax, delayMsInitial: config.retryDelayMsInitial, delayMsMax: config.retryDelayMsMax },
    breaker: {
      failureRatioMax: config.breakerFailurePercentMax / 100,
      windowMs: config.breakerWindowMs,
      callsPerSecondMin: config.breakerCallsPerSecondMin,
      halfOpenAfterMs: config.breakerHalfOpenAfterMs,
    },
    bulkhead: { concurrencyMax: config.bulkheadConcurrencyMax, queueMax: config.bulkheadQueueMax },
  };
}
