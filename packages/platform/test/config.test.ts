import t from "tap";
import {
  boolVar,
  ConfigError,
  enumVar,
  hostPortListVar,
  intVar,
  kafkaTopicPrefixVar,
  loadConfig,
  secretVar,
  stringVar,
  urlVar,
} from "../src/config.js";
import { prefixedTopics } from "../src/kafka.js";

const shape = {
  port: intVar("KUKU_PORT", 50051, { min: 0, max: 65535 }),
  host: stringVar("KUKU_HOST", "127.0.0.1"),
  verbose: boolVar("KUKU_VERBOSE", false),
  mode: enumVar("KUKU_MODE", "fast", ["fast", "safe"]),
  databaseUrl: urlVar("KUKU_DATABASE_URL", "postgres://kuku@127.0.0.1:55432/db", ["postgres:"]),
};

t.test("defaults apply when variables are unset or empty", async (t) => {
  const config = loadConfig(shape, { KUKU_HOST: "" });
  t.same(config, {
    port: 50051,
    host: "127.0.0.1",
    verbose: false,
    mode: "fast",
    databaseUrl: "postgres://kuku@127.0.0.1:55432/db",
  });
  t.ok(Object.isFrozen(config));
});

t.test("values are parsed into their types", async (t) => {
  const config = loadConfig(shape, { KUKU_PORT: "0", KUKU_VERBOSE: "1", KUKU_MODE: "safe" });
  t.equal(config.port, 0);
  t.equal(config.verbose, true);
  t.equal(config.mode, "safe");
});

t.test("every bad variable is named in one error", async (t) => {
  const error = t.throws(() =>
    loadConfig(shape, {
      KUKU_PORT: "80a",
      KUKU_VERBOSE: "yes",
      KUKU_MODE: "slow",
      KUKU_DATABASE_URL: "mysql://x",
    }),
  ) as Error;
  t.type(error, ConfigError);
  t.match(error.message, /KUKU_PORT must be an integer from 0 to 65535, got "80a"/);
  t.match(error.message, /KUKU_VERBOSE must be true, false, 1 or 0, got "yes"/);
  t.match(error.message, /KUKU_MODE must be one of fast, safe, got "slow"/);
  t.match(error.message, /KUKU_DATABASE_URL must use postgres:, got "mysql:"/);
});

t.test("out-of-range and non-integer numbers are refused", async (t) => {
  for (const bad of ["65536", "-1", "1.5", "1e3", " 1"]) {
    t.throws(() => loadConfig(shape, { KUKU_PORT: bad }), /KUKU_PORT/, bad);
  }
});

t.test("KAFKA_TOPIC_PREFIX: empty by default, prefixes every topic, refuses characters Kafka does not allow", async (t) => {
  const shape = { prefix: kafkaTopicPrefixVar() };
  t.equal(loadConfig(shape, {}).prefix, "");
  const prefix = loadConfig(shape, { KAFKA_TOPIC_PREFIX: "test-1a." }).prefix;
  t.same(prefixedTopics(prefix, { trades: "exchange.trades", book: "exchange.book" }), {
    trades: "test-1a.exchange.trades",
    book: "test-1a.exchange.book",
  });
  t.same(prefixedTopics("", { trades: "exchange.trades" }), { trades: "exchange.trades" });
  t.throws(() => loadConfig(shape, { KAFKA_TOPIC_PREFIX: "a b/" }), ConfigError);
});

t.test("host:port lists parse, and a bad item names the variable", async (t) => {
  const list = { nodes: hostPortListVar("KUKU_NODES", "127.0.0.1:6379,127.0.0.1:6380") };
  t.same(loadConfig(list, {}).nodes, [
    { host: "127.0.0.1", port: 6379 },
    { host: "127.0.0.1", port: 6380 },
  ]);
  t.same(loadConfig(list, { KUKU_NODES: "a:1, b:65535" }).nodes, [
    { host: "a", port: 1 },
    { host: "b", port: 65535 },
  ]);
  for (const bad of ["a", "a:0", "a:65536", "a:1,,b:2", ":1"]) {
    t.throws(() => loadConfig(list, { KUKU_NODES: bad }), /KUKU_NODES must be a comma-separated list of host:port/, bad);
  }
});

t.test("secrets: 32 bytes at least, whether default or set", async (t) => {
  const dev = { KUKU_ENV: "development" };
  const shape = { key: secretVar("KUKU_KEY", "d".repeat(32)) };
  t.equal(loadConfig(shape, dev).key, "d".repeat(32));
  t.equal(loadConfig(shape, { KUKU_KEY: "k".repeat(40) }).key, "k".repeat(40));
  t.throws(() => loadConfig(shape, { KUKU_KEY: "short" }), /KUKU_KEY must be at least 32 bytes long/);
  t.throws(() => loadConfig(shape, { ...dev, KUKU_KEY: "short" }), /KUKU_KEY must be at least 32 bytes long/);
  t.throws(() => loadConfig({ key: secretVar("KUKU_KEY", "too short") }, dev), /KUKU_KEY/);
});

t.test("secrets: no default outside development mode", async (t) => {
  const shape = { key: secretVar("KUKU_KEY", "d".repeat(32)) };
  t.throws(() => loadConfig(shape, {}), /KUKU_KEY is required: set a generated secret \(or KUKU_ENV=development/);
  t.throws(() => loadConfig(shape, { KUKU_ENV: "production" }), /KUKU_KEY is required/);
  t.throws(() => loadConfig(shape, { KUKU_KEY: "d".repeat(32) }), /KUKU_KEY is a default secret published in the source/);
  // Another service's published default is refused too.
  t.throws(() => loadConfig(shape, { KUKU_KEY: "kuku-dev-market-token-secret-change-me" }), /KUKU_KEY is a default secret/);
  t.equal(loadConfig(shape, { KUKU_ENV: "development", KUKU_KEY: "d".repeat(32) }).key, "d".repeat(32));
});
