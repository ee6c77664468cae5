import {
  adminConfigShape,
  databaseConfigShape,
  enumVar,
  identityConfigShape,
  intVar,
  kafkaTopicPrefixVar,
  loadConfig,
  stringVar,
} from "@kuku/platform";
import type { DeskOptions } from "./app/desk.js";
import { INSTRUMENTS } from "./domain/instruments.js";
import type { VenueSettings } from "./domain/venue.js";

export const exchangeConfigShape = {
  host: stringVar("EXCHANGE_HOST", "127.0.0.1"),
  port: intVar("EXCHANGE_PORT", 50053, { min: 0, max: 65535 }),
  ...adminConfigShape("EXCHANGE", 9053),
  ...identityConfigShape("EXCHANGE"),
  // The journal: one writer per database (a second exchange on it fails its first write).
  ...databaseConfigShape("EXCHANGE", { database: "kuku_exchange", poolSizeMax: 4, statementTimeoutMs: 10_000 }),
  // Commands per journal write (group commit); 1 writes each command on its own (kuku-bench exchange journal).
  journalGroupMax: intVar("EXCHANGE_JOURNAL_GROUP_MAX", 500, { min: 1, max: 5_000 }),
  kafkaBrokers: stringVar("KAFKA_BROKERS", "127.0.0.1:9092"),
  kafkaTopicPrefix: kafkaTopicPrefixVar(),
  marketMakerSeed: intVar("EXCHANGE_MM_SEED", 42, { min: 0, max: 2 ** 31 - 1 }),
  marketMakerLevels: intVar("EXCHANGE_MM_LEVELS", 10, { min: 1, max: 100 }),
  marketMakerMinQuantity: intVar("EXCHANGE_MM_MIN_QUANTITY", 100, { min: 1, max: 1_000_000 }),
  marketMakerMaxQuantity: intVar("EXCHANGE_MM_MAX_QUANTITY", 1_000, { min: 1, max: 1_000_000 }),
  // The trading day: "krx" (pre-open auction, continuous, closing auction, closed nights, weekends and
  // holidays) or "always-open" (continuous at every hour, closed only by CloseSession), the default so that
  // tests, drills and benchmarks trade at any wall-clock time. Fixed per journal session (ADR 0019).
  sessionSchedule: enumVar("EXCHANGE_SESSION_SCHEDULE", "always-open", ["always-open", "krx"] as const),
  // The venue clock of a new session: where it starts ("" = now, else an ISO time such as
  // 2026-12-01T08:29:00+09:00) and how fast it runs (390 = a 6.5-hour day in a minute).
  clockStart: stringVar("EXCHANGE_CLOCK_START", ""),
  clockSpeed: intVar("EXCHANGE_CLOCK_SPEED", 1, { min: 1, max: 100_000 }),
  // A market order never fills beyond this band from the last price; the rest is cancelled. 0 = no collar;
  // -1 = 10 % under the KRX schedule and none when always open (a market order sweeps the book as before).
  marketCollarPercent: intVar("EXCHANGE_MARKET_COLLAR_PERCENT", -1, { min: -1, max: 30 }),
  // Volatility interruptions (static and dynamic VI); on by default under the KRX schedule only.
  volatilityInterruption: enumVar("EXCHANGE_VI", "auto", ["auto", "on", "off"] as const),
  // Background traders around a seeded price process (ADR 0019): orders per round, 0 = off (the default,
  // so that benchmarks and drills measure only their own orders), and the round's venue interval.
  backgroundOrdersPerTick: intVar("EXCHANGE_BACKGROUND_ORDERS_PER_TICK", 0, { min: 0, max: 1_000 }),
  backgroundIntervalMs: intVar("EXCHANGE_BACKGROUND_INTERVAL_MS", 1_000, { min: 10, max: 3_600_000 }),
  backgroundSeed: intVar("EXCHANGE_BACKGROUND_SEED", 7, { min: 0, max: 2 ** 31 - 1 }),
  backgroundDailyVolatilityBp: intVar("EXCHANGE_BACKGROUND_DAILY_VOLATILITY_BP", 200, { min: 0, max: 3_000 }),
  drainTimeoutMs: intVar("EXCHANGE_DRAIN_TIMEOUT_MS", 10_000, { min: 0, max: 600_000 }),
};

export const loadExchangeConfig = (env: Record<string, string | undefined> = process.env) => loadConfig(exchangeConfigShape, env);

export type ExchangeConfig = ReturnType<typeof loadExchangeConfig>;

/** The venue settings a new journal session opens with at `openedAt`. */
export function venueSettings(config: ExchangeConfig, openedAt: Date): VenueSettings {
  const startMs = config.clockStart === "" ? openedAt.getTime() : Date.parse(config.clockStart);
  if (Number.isNaN(startMs)) throw new Error(`EXCHANGE_CLOCK_START must be an ISO time, got ${JSON.stringify(config.clockStart)}`);
  const krx = config.sessionSchedule === "krx";
  const vi = config.volatilityInterruption === "auto" ? krx : config.volatilityInterruption === "on";
  const collarPercent = config.marketCollarPercent === -1 ? (krx ? 10 : 0) : config.marketCollarPercent;
  return {
    schedule: config.sessionSchedule,
    clock: { wallAnchorMs: openedAt.getTime(), venueAnchorMs: startMs, speed: config.clockSpeed },
    engine: { collarPercent, volatilityInterruption: vi },
    ...(config.backgroundOrdersPerTick === 0
      ? {}
      : {
          background: {
            seed: config.backgroundSeed,
            intervalMs: config.backgroundIntervalMs,
            ordersPerTick: config.backgroundOrdersPerTick,
            dailyVolatilityBp: config.backgroundDailyVolatilityBp,
          },
        }),
  };
}

/** The desk's settings from the configuration: all it needs but its pool, logger and publisher. */
export function deskSettings(config: ExchangeConfig): Pick<DeskOptions, "instruments" | "marketMaker" | "venueFor" | "groupMax"> {
  return {
    instruments: INSTRUMENTS,
    marketMaker: {
      seed: config.marketMakerSeed,
      levels: config.marketMakerLevels,
      minQuantity: config.marketMakerMinQuantity,
      maxQuantity: config.marketMakerMaxQuantity,
    },
    venueFor: (openedAt) => venueSettings(config, openedAt),
    groupMax: config.journalGroupMax,
  };
}
