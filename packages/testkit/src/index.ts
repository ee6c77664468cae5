// Helpers for integration tests, benchmarks and drills against the real
// PostgreSQL, Kafka and Redis and real service processes. No service uses it at run time.
export { type ConnectAnswer, connectCall } from "./connect-call.js";
export { createTestDatabase, TEST_PG_ADMIN_URL, type TestDatabase } from "./database.js";
export { eventually, GiveUp } from "./eventually.js";
export { HOSTILE_TEXT, type HostileCase, hostileTextCases, sendHostile } from "./hostile-text.js";
export { dropTopics, TEST_KAFKA_BROKERS } from "./kafka-topics.js";
export { REPO_ROOT, TOOLS_BIN } from "./paths.js";
export {
  operatorAuthorization,
  run,
  type ServiceProcess,
  startRefused,
  startService,
  startServiceProcess,
  TEST_IDENTITY_TRUST,
  TEST_SECRETS,
  testIdentity,
} from "./process.js";
export { parsePrometheusText, type Sample } from "./prometheus.js";
export * from "./services.js";
export { startTradingStack, type TradingStack, type TradingStackOptions } from "./trading-stack.js";
export { unaryRequestOf } from "./unary-request.js";
